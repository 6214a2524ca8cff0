/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/key.h"
#include "json-internal.h"
#include "util.h"

#define ED25519_KEY_SIZE 32
#define ED25519_SIG_SIZE 64
#define RSA_MIN_BITS 2048
#define PRIVATE_KEY_FILE_MAX (64u * 1024u)
#define SCHEME_PREFIX "scheme: "

struct UpKey {
        unsigned n_ref;
        UpKeyScheme scheme;
        EVP_PKEY *pkey;           /* parsed once, at load time */
        /* Initialized for verification once: EVP_DigestVerifyInit() costs
         * about 15% of an RSA-3072 verification, a copy of this much less. */
        EVP_MD_CTX *verify_tmpl;
        struct json_object *json; /* public key object; defines the key id */
        size_t max_sig_size;
        bool has_private;
};

static const char *const scheme_names[_UP_SCHEME_MAX] = {
        [UP_SCHEME_ED25519] = "ed25519",
        [UP_SCHEME_ECDSA_SHA2_NISTP256] = "ecdsa-sha2-nistp256",
        [UP_SCHEME_RSASSA_PSS_SHA256] = "rsassa-pss-sha256",
        [UP_SCHEME_RSA_PKCS1V15_SHA256] = "rsa-pkcs1v15-sha256",
};

/* The keytype we write for generated keys. */
static const char *const scheme_keytypes[_UP_SCHEME_MAX] = {
        [UP_SCHEME_ED25519] = "ed25519",
        [UP_SCHEME_ECDSA_SHA2_NISTP256] = "ecdsa",
        [UP_SCHEME_RSASSA_PSS_SHA256] = "rsa",
        [UP_SCHEME_RSA_PKCS1V15_SHA256] = "rsa",
};

static void EVP_PKEY_freep(EVP_PKEY **p) {
        EVP_PKEY_free(*p);
}

static void EVP_MD_CTX_freep(EVP_MD_CTX **p) {
        EVP_MD_CTX_free(*p);
}

static void BIO_freep(BIO **p) {
        BIO_free(*p);
}

/* Keeps OpenSSL's thread-local error queue as the caller left it, so that
 * our failures never show up in somebody else's ERR_get_error() (libcurl).
 * Pop even when ERR_set_mark() failed: OpenSSL 3.0 sets no mark on an empty
 * queue, and popping then clears exactly what we added. */
static void err_pop_to_markp(int *mark _unused_) {
        (void) ERR_pop_to_mark();
}

#define _cleanup_err_mark_ _cleanup_(err_pop_to_markp) _unused_ int err_mark_ = ERR_set_mark()

static bool scheme_valid(UpKeyScheme s) {
        return s >= 0 && s < _UP_SCHEME_MAX;
}

int up_key_scheme_from_name(const char *name) {
        if (!name)
                return -EINVAL;

        for (UpKeyScheme s = 0; s < _UP_SCHEME_MAX; s++)
                if (streq(name, scheme_names[s]))
                        return s;

        return -EOPNOTSUPP;
}

const char *up_key_scheme_name(UpKeyScheme s) {
        return scheme_valid(s) ? scheme_names[s] : NULL;
}

static bool keytype_matches(UpKeyScheme s, const char *keytype) {
        switch (s) {
        case UP_SCHEME_ED25519:
                return streq(keytype, "ed25519");
        case UP_SCHEME_ECDSA_SHA2_NISTP256:
                return streq(keytype, "ecdsa") || streq(keytype, "ecdsa-sha2-nistp256");
        case UP_SCHEME_RSASSA_PSS_SHA256:
        case UP_SCHEME_RSA_PKCS1V15_SHA256:
                return streq(keytype, "rsa");
        default:
                return false;
        }
}

/* Refuses a key whose real algorithm differs from what its scheme declares. */
static int check_pkey_type(UpKeyScheme s, EVP_PKEY *pkey) {
        char group[64];
        size_t group_len = 0;

        switch (s) {
        case UP_SCHEME_ED25519:
                return EVP_PKEY_is_a(pkey, "ED25519") ? 0 : -EBADMSG;

        case UP_SCHEME_ECDSA_SHA2_NISTP256:
                if (!EVP_PKEY_is_a(pkey, "EC"))
                        return -EBADMSG;
                /* Keys with explicit curve parameters have no group name. */
                if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &group_len) != 1)
                        return -EBADMSG;
                if (!streq(group, "prime256v1") && !streq(group, "P-256"))
                        return -EBADMSG;
                return 0;

        case UP_SCHEME_RSASSA_PSS_SHA256:
        case UP_SCHEME_RSA_PKCS1V15_SHA256:
                if (!EVP_PKEY_is_a(pkey, "RSA"))
                        return -EBADMSG;
                if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS)
                        return -EBADMSG;
                return 0;

        default:
                return -EOPNOTSUPP;
        }
}

/* Digest, padding and salt length of a scheme. ed25519 hashes internally. */
static int setup_ctx(UpKeyScheme s, EVP_PKEY *pkey, EVP_MD_CTX *ctx, bool sign) {
        const EVP_MD *md = s == UP_SCHEME_ED25519 ? NULL : EVP_sha256();
        EVP_PKEY_CTX *pctx = NULL;
        int ok;

        if (sign)
                ok = EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey);
        else
                ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey);
        if (ok != 1)
                return -EIO;

        if (s != UP_SCHEME_RSASSA_PSS_SHA256)
                return 0;

        /* TUF signers use other salt lengths; accept any when verifying. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, sign ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO) != 1)
                return -EIO;

        return 0;
}

/* Takes over pkey and json, but only on success. */
static int key_new(UpKeyScheme s, EVP_PKEY *pkey, struct json_object *json, bool has_private, UpKey **ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *tmpl = NULL;
        UpKey *k;
        int size, r;

        size = EVP_PKEY_get_size(pkey);
        if (size <= 0)
                return -EBADMSG;

        tmpl = EVP_MD_CTX_new();
        if (!tmpl)
                return -ENOMEM;
        r = setup_ctx(s, pkey, tmpl, false);
        if (r < 0)
                return r;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;

        *k = (UpKey) {
                .n_ref = 1,
                .scheme = s,
                .pkey = pkey,
                .verify_tmpl = TAKE_PTR(tmpl),
                .json = json,
                .max_sig_size = (size_t) size,
                .has_private = has_private,
        };

        *ret = k;
        return 0;
}

UpKey *up_key_ref(UpKey *k) {
        if (!k)
                return NULL;

        __atomic_add_fetch(&k->n_ref, 1, __ATOMIC_RELAXED);
        return k;
}

UpKey *up_key_unref(UpKey *k) {
        if (!k)
                return NULL;

        if (__atomic_sub_fetch(&k->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;

        EVP_MD_CTX_free(k->verify_tmpl);
        EVP_PKEY_free(k->pkey);
        json_object_put(k->json);
        free(k);
        return NULL;
}

UpKeyScheme up_key_scheme(const UpKey *k) {
        return k ? k->scheme : _UP_SCHEME_INVALID;
}

struct json_object *up_key_to_json(const UpKey *k) {
        return k ? json_object_get(k->json) : NULL;
}

int up_key_keyid(const UpKey *k, char *ret) {
        _cleanup_free_ char *cjson = NULL;
        uint8_t digest[32];
        size_t cjson_len = 0;
        int r;

        if (!k || !ret)
                return -EINVAL;

        r = up_cjson_encode(k->json, &cjson, &cjson_len);
        if (r < 0)
                return r;

        r = up_hash_buffer(UP_HASH_SHA256, cjson, cjson_len, digest);
        if (r < 0)
                return r;

        up_hex_encode(digest, sizeof(digest), ret);
        return 0;
}

static int json_get_string(struct json_object *o, const char *key, const char **ret, size_t *ret_len) {
        struct json_object *v;
        const char *s;
        size_t len;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;

        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        /* "ed25519\u0000x" must not pass as "ed25519". */
        if (strlen(s) != len)
                return -EBADMSG;

        *ret = s;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int ed25519_from_hex(const char *hex, size_t hex_len, EVP_PKEY **ret) {
        _cleanup_free_ uint8_t *raw = NULL;
        EVP_PKEY *pkey;
        size_t raw_len = 0;
        int r;

        if (hex_len != 2 * ED25519_KEY_SIZE)
                return -EBADMSG;

        r = up_hex_decode(hex, hex_len, &raw, &raw_len);
        if (r < 0)
                return r;

        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, raw_len);
        if (!pkey)
                return -EBADMSG;

        *ret = pkey;
        return 0;
}

/* Never prompt on the terminal for an encrypted key. */
static int no_password_cb(char *buf _unused_, int size _unused_, int rwflag _unused_, void *u _unused_) {
        return -1;
}

/* A public key (only the "PUBLIC KEY" label, SubjectPublicKeyInfo) or an
 * unencrypted private key. */
static int pkey_from_pem(const char *pem, size_t pem_len, bool private, EVP_PKEY **ret) {
        _cleanup_(BIO_freep) BIO *bio = NULL;
        EVP_PKEY *pkey;

        if (pem_len == 0 || pem_len > INT_MAX)
                return -EBADMSG;

        bio = BIO_new_mem_buf(pem, (int) pem_len);
        if (!bio)
                return -ENOMEM;

        pkey = private ? PEM_read_bio_PrivateKey_ex(bio, NULL, no_password_cb, NULL, NULL, NULL)
                       : PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, NULL, NULL);
        if (!pkey)
                return -EBADMSG;

        *ret = pkey;
        return 0;
}

static int pkey_from_public(UpKeyScheme s, const char *public, size_t public_len, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        int r;

        if (s == UP_SCHEME_ED25519)
                r = ed25519_from_hex(public, public_len, &pkey);
        else
                r = pkey_from_pem(public, public_len, false, &pkey);
        if (r < 0)
                return r;

        r = check_pkey_type(s, pkey);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(pkey);
        return 0;
}

int up_key_from_json(struct json_object *key, UpKey **ret) {
        _cleanup_err_mark_;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        struct json_object *keyval;
        const char *keytype, *scheme_name, *public;
        size_t public_len = 0;
        UpKey *k;
        int s, r;

        if (!key || !ret)
                return -EINVAL;
        if (!json_object_is_type(key, json_type_object))
                return -EBADMSG;

        r = json_get_string(key, "keytype", &keytype, NULL);
        if (r < 0)
                return r;
        r = json_get_string(key, "scheme", &scheme_name, NULL);
        if (r < 0)
                return r;

        s = up_key_scheme_from_name(scheme_name);
        if (s < 0)
                return s;
        if (!keytype_matches(s, keytype))
                return -EOPNOTSUPP;

        if (!json_object_object_get_ex(key, "keyval", &keyval) ||
            !json_object_is_type(keyval, json_type_object))
                return -EBADMSG;
        r = json_get_string(keyval, "public", &public, &public_len);
        if (r < 0)
                return r;

        r = pkey_from_public(s, public, public_len, &pkey);
        if (r < 0)
                return r;

        r = key_new(s, pkey, key, false, &k);
        if (r < 0)
                return r;

        TAKE_PTR(pkey);
        json_object_get(key);
        *ret = k;
        return 0;
}

/* The public half as TUF writes it: 64 hex digits or a PEM SPKI block. */
static int public_string(UpKeyScheme s, EVP_PKEY *pkey, struct json_object **ret) {
        _cleanup_(BIO_freep) BIO *bio = NULL;
        struct json_object *str;
        char *data;
        long len;

        if (s == UP_SCHEME_ED25519) {
                uint8_t raw[ED25519_KEY_SIZE];
                char hex[2 * ED25519_KEY_SIZE + 1];
                size_t raw_len = sizeof(raw);

                if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1 || raw_len != sizeof(raw))
                        return -EIO;
                up_hex_encode(raw, raw_len, hex);
                str = json_object_new_string(hex);
        } else {
                bio = BIO_new(BIO_s_mem());
                if (!bio)
                        return -ENOMEM;
                if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
                        return -EIO;
                len = BIO_get_mem_data(bio, &data);
                if (len <= 0 || len > INT_MAX)
                        return -EIO;
                str = json_object_new_string_len(data, (int) len);
        }

        if (!str)
                return -ENOMEM;

        *ret = str;
        return 0;
}


static int public_json_new(UpKeyScheme s, EVP_PKEY *pkey, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *keyval, *public = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = up_json_add(o, "keytype", json_object_new_string(scheme_keytypes[s]));
        if (r < 0)
                return r;
        r = up_json_add(o, "scheme", json_object_new_string(scheme_names[s]));
        if (r < 0)
                return r;

        keyval = json_object_new_object();
        r = up_json_add(o, "keyval", keyval);
        if (r < 0)
                return r;

        r = public_string(s, pkey, &public);
        if (r < 0)
                return r;
        r = up_json_add(keyval, "public", public);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

/* Wraps a private EVP_PKEY (ownership taken only on success). */
static int key_from_private(UpKeyScheme s, EVP_PKEY *pkey, UpKey **ret) {
        _cleanup_json_ struct json_object *json = NULL;
        int r;

        r = check_pkey_type(s, pkey);
        if (r < 0)
                return r;

        r = public_json_new(s, pkey, &json);
        if (r < 0)
                return r;

        r = key_new(s, pkey, json, true, ret);
        if (r < 0)
                return r;

        TAKE_PTR(json);
        return 0;
}

static EVP_PKEY *generate_pkey(UpKeyScheme s) {
        switch (s) {
        case UP_SCHEME_ED25519:
                return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        case UP_SCHEME_ECDSA_SHA2_NISTP256:
                return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        case UP_SCHEME_RSASSA_PSS_SHA256:
        case UP_SCHEME_RSA_PKCS1V15_SHA256:
                return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 3072);
        default:
                return NULL;
        }
}

int up_key_generate(UpKeyScheme scheme, UpKey **ret) {
        _cleanup_err_mark_;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (!scheme_valid(scheme))
                return -EOPNOTSUPP;

        pkey = generate_pkey(scheme);
        if (!pkey)
                return -ENOMEM;

        r = key_from_private(scheme, pkey, ret);
        if (r < 0)
                return r;

        TAKE_PTR(pkey);
        return 0;
}

static bool sig_len_plausible(const UpKey *k, size_t sig_len) {
        switch (k->scheme) {
        case UP_SCHEME_ED25519:
                return sig_len == ED25519_SIG_SIZE;
        case UP_SCHEME_ECDSA_SHA2_NISTP256:
                return sig_len > 0 && sig_len <= k->max_sig_size;
        default:
                /* RSA: a shorter one is a non-canonical encoding. */
                return sig_len == k->max_sig_size;
        }
}

int up_key_verify(const UpKey *k, const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len) {
        _cleanup_err_mark_;
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;

        if (!k || (!msg && msg_len > 0))
                return -EINVAL;
        if (!sig || !sig_len_plausible(k, sig_len))
                return -EKEYREJECTED;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;

        /* Copying only reads the template, so concurrent verifications
         * with one key are fine. */
        if (EVP_MD_CTX_copy_ex(ctx, k->verify_tmpl) != 1)
                return -ENOMEM;

        if (EVP_DigestVerify(ctx, sig, sig_len, msg ?: "", msg_len) != 1)
                return -EKEYREJECTED;

        return 0;
}

int up_key_sign(const UpKey *k, const void *msg, size_t msg_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_err_mark_;
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        size_t sig_len;
        int r;

        if (!k || (!msg && msg_len > 0) || !ret || !ret_len)
                return -EINVAL;
        if (!k->has_private)
                return -ENOKEY;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;

        r = setup_ctx(k->scheme, k->pkey, ctx, true);
        if (r < 0)
                return r;

        /* Sized from the key: a NULL-buffer EVP_DigestSign() would already
         * feed msg into the digest for ECDSA and RSA. */
        sig_len = k->max_sig_size;
        sig = malloc(sig_len);
        if (!sig)
                return -ENOMEM;

        if (EVP_DigestSign(ctx, sig, &sig_len, msg ?: "", msg_len) != 1)
                return -EIO;

        *ret = TAKE_PTR(sig);
        *ret_len = sig_len;
        return 0;
}

/* ---- private key files ---- */

static void unlink_and_freep(char **p) {
        if (*p) {
                int saved = errno;
                (void) unlink(*p);
                errno = saved;
                free(*p);
        }
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int dfd = -1;

        copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (fsync(dfd) < 0)
                return negative_errno();

        return 0;
}

/* Readers see either the old or the complete new file, never a prefix. */
static int write_file_atomic_0600(const char *path, const char *data, size_t len) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                free(TAKE_PTR(tmp)); /* nothing was created */
                return r;
        }

        if (fchmod(fd, 0600) < 0)
                return negative_errno();

        r = write_all(fd, data, len);
        if (r < 0)
                return r;

        if (fsync(fd) < 0)
                return negative_errno();
        if (close(TAKE_FD(fd)) < 0)
                return negative_errno();

        if (rename(tmp, path) < 0)
                return negative_errno();
        free(TAKE_PTR(tmp));

        return fsync_parent_dir(path);
}

int up_key_save_private(const UpKey *k, const char *path) {
        _cleanup_err_mark_;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        char *data;
        long len;

        if (!k || !path)
                return -EINVAL;
        if (!k->has_private)
                return -ENOKEY;

        /* Secure-memory BIO: the buffer is cleansed when freed. */
        bio = BIO_new(BIO_s_secmem());
        if (!bio)
                return -ENOMEM;

        if (BIO_printf(bio, SCHEME_PREFIX "%s\n", scheme_names[k->scheme]) <= 0 ||
            PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
                return -ENOMEM;

        len = BIO_get_mem_data(bio, &data);
        if (len <= 0)
                return -EIO;

        return write_file_atomic_0600(path, data, (size_t) len);
}

typedef struct SecretBuf {
        char *data;
        size_t size;
} SecretBuf;

static void secret_buf_done(SecretBuf *b) {
        OPENSSL_clear_free(b->data, b->size);
}

static int read_private_file(const char *path, SecretBuf *buf, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t len = 0;

        /* O_NONBLOCK: opening a FIFO must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (st.st_size > (off_t) PRIVATE_KEY_FILE_MAX)
                return -EFBIG;

        /* One byte more than allowed, to notice a file that grew. */
        buf->size = PRIVATE_KEY_FILE_MAX + 1;
        buf->data = OPENSSL_malloc(buf->size);
        if (!buf->data)
                return -ENOMEM;

        while (len < buf->size) {
                ssize_t n = read(fd, buf->data + len, buf->size - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > PRIVATE_KEY_FILE_MAX)
                return -EFBIG;

        *ret_len = len;
        return 0;
}

/* "scheme: NAME\n" -> scheme; *ret_pem points after the line. */
static int parse_scheme_line(const char *data, size_t len, const char **ret_pem) {
        char name[64];
        const char *nl;
        size_t prefix = strlen(SCHEME_PREFIX), n;

        if (len < prefix || memcmp(data, SCHEME_PREFIX, prefix) != 0)
                return -EBADMSG;

        nl = memchr(data, '\n', len);
        if (!nl)
                return -EBADMSG;

        n = (size_t) (nl - data) - prefix;
        if (n == 0 || n >= sizeof(name) || memchr(data + prefix, '\0', n))
                return -EBADMSG;

        memcpy(name, data + prefix, n);
        name[n] = '\0';

        *ret_pem = nl + 1;
        return up_key_scheme_from_name(name);
}

int up_key_load_private(const char *path, UpKey **ret) {
        _cleanup_err_mark_;
        _cleanup_(secret_buf_done) SecretBuf buf = {};
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        const char *pem = NULL;
        size_t len = 0;
        int s, r;

        if (!path || !ret)
                return -EINVAL;

        r = read_private_file(path, &buf, &len);
        if (r < 0)
                return r;

        s = parse_scheme_line(buf.data, len, &pem);
        if (s < 0)
                return s;

        r = pkey_from_pem(pem, len - (size_t) (pem - buf.data), true, &pkey);
        if (r < 0)
                return r;

        r = key_from_private(s, pkey, ret);
        if (r < 0)
                return r;

        TAKE_PTR(pkey);
        return 0;
}

bool up_key_equal(const UpKey *a, const UpKey *b) {
        if (!a || !b)
                return false;
        return a == b || EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

/* SPDX-License-Identifier: MIT */
/* RequestFileTransfer, TransferData, RequestTransferExit: what the Primary sends, into incoming/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_macro.h"
#include "daemon_state.h"
#include "secondary_log.h"
#include "uds_handler.h"
#include "uptane_uds.h"

#define NAME_MAX_LEN 255u

void secondary_transfer_abort(SecondaryContext *ctx) {
        if (ctx->transfer_fd >= 0) {
                (void) close(ctx->transfer_fd);
                ctx->transfer_fd = -1;
                if (ctx->transfer_dir && ctx->transfer_temp) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s", ctx->transfer_dir, ctx->transfer_temp) >= 0)
                                (void) unlink(p);
                }
        }
        uds_download_abort(&ctx->download);
        ctx->transfer_dir = NULL;
        ctx->transfer_name = (free(ctx->transfer_name), NULL);
        ctx->transfer_temp = (free(ctx->transfer_temp), NULL);
}

/* One file name: 1..255 bytes of [A-Za-z0-9._+-], not starting with '.'. */
static bool name_valid(const char *name, size_t len) {
        if (len == 0 || len > NAME_MAX_LEN || name[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-' || c == '+'))
                        return false;
        }
        return true;
}

static bool has_prefix(const char *p, size_t len, const char *prefix) {
        size_t n = strlen(prefix);

        return len > n && memcmp(p, prefix, n) == 0;
}

/* The directory a path goes to, and the name in it; false for anything else. */
static bool resolve_path(SecondaryContext *ctx, const char *path, size_t len, char **ret_dir, const char **ret_name,
                         size_t *ret_name_len, bool *ret_image) {
        SecondaryState *s = ctx->state;
        size_t n;

        *ret_image = false;
        if (has_prefix(path, len, UPTANE_PATH_DIRECTOR_PREFIX)) {
                *ret_dir = s->incoming_director;
                n = strlen(UPTANE_PATH_DIRECTOR_PREFIX);
        } else if (has_prefix(path, len, UPTANE_PATH_IMAGE_PREFIX) &&
                   ctx->config->verification == SECONDARY_VERIFICATION_FULL) {
                *ret_dir = s->incoming_image;
                n = strlen(UPTANE_PATH_IMAGE_PREFIX);
        } else if (has_prefix(path, len, UPTANE_PATH_TARGET_PREFIX)) {
                *ret_dir = s->incoming_target;
                n = strlen(UPTANE_PATH_TARGET_PREFIX);
                *ret_image = true;
        } else
                return false;
        *ret_name = path + n;
        *ret_name_len = len - n;
        if (!name_valid(*ret_name, *ret_name_len))
                return false;
        /* Metadata files are JSON: ROLE.json or N.root.json. */
        return *ret_image || (*ret_name_len > 5 && memcmp(*ret_name + *ret_name_len - 5, ".json", 5) == 0);
}

static int open_transfer(SecondaryContext *ctx, char *dir, const char *name, size_t name_len) {
        _cleanup_free_ char *path = NULL;

        ctx->transfer_name = strndup(name, name_len);
        if (!ctx->transfer_name || asprintf(&ctx->transfer_temp, ".%s.part", ctx->transfer_name) < 0 ||
            asprintf(&path, "%s/%s", dir, ctx->transfer_temp) < 0)
                return -ENOMEM;
        ctx->transfer_dir = dir;
        ctx->transfer_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        return ctx->transfer_fd < 0 ? -errno : 0;
}

static int request_file_transfer(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        UdsFileTransferRequest ft;
        const char *name;
        size_t name_len;
        char *dir;
        bool image;
        int k;

        k = uds_parse_file_transfer_request(req, len, &ft);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if ((ft.mode != UDS_FILE_REPLACE && ft.mode != UDS_FILE_ADD) || ft.dfi != 0x00 ||
            ft.size_compressed != ft.size_uncompressed ||
            !resolve_path(ctx, ft.path, ft.path_len, &dir, &name, &name_len, &image))
                return uds_reply_negative(r, req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        if (ft.size_uncompressed > (image ? ctx->config->max_image_size : ctx->config->max_metadata_size))
                return uds_reply_negative(r, req[0], UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED);
        /* A new transfer replaces one left unfinished (a Primary that gave up on it). */
        secondary_transfer_abort(ctx);
        if (!image)
                secondary_forget_verification(ctx); /* new metadata must be verified again */
        k = open_transfer(ctx, dir, name, name_len);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || uds_download_start(&ctx->download, ft.size_uncompressed, ctx->max_block_len) < 0) {
                secondary_transfer_abort(ctx);
                return uds_reply_negative(r, req[0], UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED);
        }
        UdsFileTransferResponse rsp = { .mode = ft.mode, .max_block_len = ctx->max_block_len, .dfi = 0x00 };
        return uds_build_file_transfer_response(r->buf, r->size, &rsp, &r->len);
}

static int transfer_data(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        const uint8_t *data;
        size_t data_len;
        uint8_t bsc, nrc = UDS_NRC_GENERAL_REJECT;
        int k;

        k = uds_parse_transfer_data(req, len, &bsc, &data, &data_len);
        if (k < 0 && k != -EBADMSG)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (k < 0 && len < 2)
                return uds_reply_negative(r, req[0], UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        if (k < 0) /* no data: the state machine says what that means now */
                bsc = req[1], data = NULL, data_len = 0;
        k = uds_download_block(&ctx->download, bsc, data_len, &nrc);
        if (k < 0) {
                if (k == -EFBIG)
                        secondary_transfer_abort(ctx);
                return uds_reply_negative(r, req[0], nrc);
        }
        if (k == UDS_BLOCK_NEW && daemon_write_all(ctx->transfer_fd, data, data_len) < 0) {
                secondary_transfer_abort(ctx);
                return uds_reply_negative(r, req[0], UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        }
        return uds_build_transfer_data_response(r->buf, r->size, bsc, NULL, 0, &r->len);
}

/* fsync, then the file takes its name. */
static int commit_transfer(SecondaryContext *ctx) {
        _cleanup_free_ char *from = NULL, *to = NULL;

        if (fsync(ctx->transfer_fd) < 0)
                return -errno;
        if (asprintf(&from, "%s/%s", ctx->transfer_dir, ctx->transfer_temp) < 0 ||
            asprintf(&to, "%s/%s", ctx->transfer_dir, ctx->transfer_name) < 0)
                return -ENOMEM;
        if (rename(from, to) < 0)
                return -errno;
        (void) close(ctx->transfer_fd);
        ctx->transfer_fd = -1;
        return 0;
}

static int transfer_exit(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        const uint8_t *record;
        size_t record_len;
        uint8_t nrc = UDS_NRC_REQUEST_SEQUENCE_ERROR;
        int k;

        k = uds_parse_transfer_exit(req, len, &record, &record_len);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        k = uds_download_finish(&ctx->download, &nrc);
        if (k < 0)
                return uds_reply_negative(r, req[0], nrc);
        k = commit_transfer(ctx);
        if (k >= 0 && strcmp(ctx->transfer_dir, ctx->state->incoming_target) == 0) {
                LogFields f = { .ecu_serial = ctx->config->serial, .target = ctx->transfer_name };

                secondary_log_event(LOG_INFO, SECONDARY_EVENT_IMAGE_RECEIVED, &f,
                                    "Image %s received (%llu bytes), not yet verified", ctx->transfer_name,
                                    (unsigned long long) ctx->download.received);
        }
        secondary_transfer_abort(ctx);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return uds_reply_negative(r, req[0], UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        return uds_build_transfer_exit_response(r->buf, r->size, NULL, 0, &r->len);
}

int secondary_uds_files(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        if (ctx->session != UDS_SESSION_PROGRAMMING)
                return uds_reply_negative(r, req[0], UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        switch (req[0]) {
        case UDS_SID_REQUEST_FILE_TRANSFER:
                return request_file_transfer(ctx, req, len, r);
        case UDS_SID_TRANSFER_DATA:
                return transfer_data(ctx, req, len, r);
        default:
                return transfer_exit(ctx, req, len, r);
        }
}

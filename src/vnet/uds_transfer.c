/* SPDX-License-Identifier: MIT */
/*
 * UDS codec, part 2: the transfer services, 0x34 RequestDownload,
 * 0x36 TransferData, 0x37 RequestTransferExit and 0x38 RequestFileTransfer.
 */

#include "uds.h"
#include "uds_util.h"

static bool field_len_valid(size_t n) {
        return n >= 1 && n <= UDS_FIELD_LEN_MAX;
}

/* LFID maxNumberOfBlockLength, as in the 74 and 78 responses. */
static void put_block_len(UdsWriter *w, uint64_t max_block_len, uint8_t n) {
        uds_put_u8(w, (uint8_t) (n << 4));
        uds_put_be(w, max_block_len, n);
}

/* Reads LFID maxNumberOfBlockLength at *off; advances *off. */
static int read_block_len(const uint8_t *msg, size_t len, size_t *off, uint64_t *ret) {
        uint8_t lfid, n;
        uint64_t v;

        if (*off >= len)
                return -EBADMSG;
        lfid = msg[*off];
        n = lfid >> 4;
        if ((lfid & 0x0F) != 0 || n == 0)
                return -EBADMSG;
        if (n > UDS_FIELD_LEN_MAX)
                return -ERANGE;
        if (len - *off - 1 < n)
                return -EBADMSG;
        v = uds_be_read(msg + *off + 1, n);
        if (v < UDS_BLOCK_LEN_MIN)
                return -EBADMSG;
        *off += 1 + n;
        *ret = v;
        return 0;
}

/* ---- 0x34 RequestDownload ------------------------------------------------------- */

int uds_build_request_download(uint8_t *buf, size_t size, const UdsDownloadRequest *req, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (!req)
                return -EINVAL;
        if (!field_len_valid(req->address_len) || !field_len_valid(req->size_len))
                return -ERANGE;
        if (!uds_fits_bytes(req->address, req->address_len) || !uds_fits_bytes(req->size, req->size_len))
                return -ERANGE;
        uds_put_u8(&w, UDS_SID_REQUEST_DOWNLOAD);
        uds_put_u8(&w, req->dfi);
        uds_put_u8(&w, (uint8_t) (req->size_len << 4 | req->address_len));
        uds_put_be(&w, req->address, req->address_len);
        uds_put_be(&w, req->size, req->size_len);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_request_download(const uint8_t *msg, size_t len, UdsDownloadRequest *ret) {
        uint8_t alen, slen;
        int r;

        r = uds_check_request(UDS_SID_REQUEST_DOWNLOAD, msg, len, 3);
        if (r < 0)
                return r;
        alen = msg[2] & 0x0F;
        slen = msg[2] >> 4;
        if (!field_len_valid(alen) || !field_len_valid(slen))
                return -ERANGE;
        if (len != 3u + alen + slen)
                return -EBADMSG;
        if (ret)
                *ret = (UdsDownloadRequest) {
                        .dfi = msg[1],
                        .address = uds_be_read(msg + 3, alen),
                        .address_len = alen,
                        .size = uds_be_read(msg + 3 + alen, slen),
                        .size_len = slen,
                };
        return 0;
}

int uds_build_request_download_response(uint8_t *buf, size_t size, uint64_t max_block_len, uint8_t len_bytes,
                                        size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (max_block_len < UDS_BLOCK_LEN_MIN)
                return -EINVAL;
        if (len_bytes == 0)
                len_bytes = uds_min_bytes(max_block_len);
        if (!field_len_valid(len_bytes) || !uds_fits_bytes(max_block_len, len_bytes))
                return -ERANGE;
        uds_put_u8(&w, UDS_SID_REQUEST_DOWNLOAD + UDS_POSITIVE_RESPONSE_OFFSET);
        put_block_len(&w, max_block_len, len_bytes);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_request_download_response(const uint8_t *msg, size_t len, uint64_t *ret_max_block_len) {
        size_t off = 1;
        uint64_t v;
        int r;

        r = uds_check_response(UDS_SID_REQUEST_DOWNLOAD, msg, len, 3);
        if (r < 0)
                return r;
        r = read_block_len(msg, len, &off, &v);
        if (r < 0)
                return r;
        if (off != len)
                return -EBADMSG;
        if (ret_max_block_len)
                *ret_max_block_len = v;
        return 0;
}

/* ---- 0x36 TransferData / 0x37 RequestTransferExit -------------------------------- */

static int build_with_record(uint8_t *buf, size_t size, const uint8_t *head, size_t head_len, const uint8_t *record,
                             size_t record_len, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (record_len > 0 && !record)
                return -EINVAL;
        /* The record may already sit behind the head in buf: move it first. */
        if (uds_writer_room(&w, head_len + record_len)) {
                if (record_len > 0)
                        memmove(buf + head_len, record, record_len);
                memcpy(buf, head, head_len);
                w.len = head_len + record_len;
        }
        return uds_writer_finish(&w, ret_len);
}

static void store_tail(const uint8_t *msg, size_t len, size_t off, const uint8_t **ret, size_t *ret_len) {
        if (ret)
                *ret = len > off ? msg + off : NULL;
        if (ret_len)
                *ret_len = len - off;
}

int uds_build_transfer_data(uint8_t *buf, size_t size, uint8_t bsc, const uint8_t *data, size_t data_len,
                            size_t *ret_len) {
        const uint8_t head[] = { UDS_SID_TRANSFER_DATA, bsc };

        return build_with_record(buf, size, head, sizeof(head), data, data_len, ret_len);
}

int uds_parse_transfer_data(const uint8_t *msg, size_t len, uint8_t *ret_bsc, const uint8_t **ret_data,
                            size_t *ret_data_len) {
        int r;

        r = uds_check_request(UDS_SID_TRANSFER_DATA, msg, len, 2);
        if (r < 0)
                return r;
        if (ret_bsc)
                *ret_bsc = msg[1];
        store_tail(msg, len, 2, ret_data, ret_data_len);
        return 0;
}

int uds_build_transfer_data_response(uint8_t *buf, size_t size, uint8_t bsc, const uint8_t *record, size_t record_len,
                                     size_t *ret_len) {
        const uint8_t head[] = { UDS_SID_TRANSFER_DATA + UDS_POSITIVE_RESPONSE_OFFSET, bsc };

        return build_with_record(buf, size, head, sizeof(head), record, record_len, ret_len);
}

int uds_parse_transfer_data_response(const uint8_t *msg, size_t len, uint8_t bsc, const uint8_t **ret_record,
                                     size_t *ret_record_len) {
        int r;

        r = uds_check_response(UDS_SID_TRANSFER_DATA, msg, len, 2);
        if (r < 0)
                return r;
        if (msg[1] != bsc)
                return -EPROTO;
        store_tail(msg, len, 2, ret_record, ret_record_len);
        return 0;
}

int uds_build_transfer_exit(uint8_t *buf, size_t size, const uint8_t *record, size_t record_len, size_t *ret_len) {
        const uint8_t head = UDS_SID_REQUEST_TRANSFER_EXIT;

        return build_with_record(buf, size, &head, 1, record, record_len, ret_len);
}

int uds_parse_transfer_exit(const uint8_t *msg, size_t len, const uint8_t **ret_record, size_t *ret_record_len) {
        int r;

        r = uds_check_request(UDS_SID_REQUEST_TRANSFER_EXIT, msg, len, 1);
        if (r < 0)
                return r;
        store_tail(msg, len, 1, ret_record, ret_record_len);
        return 0;
}

int uds_build_transfer_exit_response(uint8_t *buf, size_t size, const uint8_t *record, size_t record_len,
                                     size_t *ret_len) {
        const uint8_t head = UDS_SID_REQUEST_TRANSFER_EXIT + UDS_POSITIVE_RESPONSE_OFFSET;

        return build_with_record(buf, size, &head, 1, record, record_len, ret_len);
}

int uds_parse_transfer_exit_response(const uint8_t *msg, size_t len, const uint8_t **ret_record,
                                     size_t *ret_record_len) {
        int r;

        r = uds_check_response(UDS_SID_REQUEST_TRANSFER_EXIT, msg, len, 1);
        if (r < 0)
                return r;
        store_tail(msg, len, 1, ret_record, ret_record_len);
        return 0;
}

/* ---- 0x38 RequestFileTransfer ------------------------------------------------------ */

static bool file_mode_valid(uint8_t mode) {
        return mode >= UDS_FILE_ADD && mode <= UDS_FILE_RESUME;
}

/* Modes whose request carries DFI and the two file sizes. */
static bool file_mode_has_sizes(uint8_t mode) {
        return mode == UDS_FILE_ADD || mode == UDS_FILE_REPLACE || mode == UDS_FILE_RESUME;
}

static bool path_valid(const char *path, size_t len) {
        return path && len >= 1 && len <= UDS_FILE_PATH_MAX && !memchr(path, '\0', len);
}

int uds_build_file_transfer_request(uint8_t *buf, size_t size, const UdsFileTransferRequest *req, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (!req || !file_mode_valid(req->mode))
                return -EINVAL;
        if (!path_valid(req->path, req->path_len))
                return -EINVAL;
        if (file_mode_has_sizes(req->mode) &&
            (!field_len_valid(req->size_len) || !uds_fits_bytes(req->size_uncompressed, req->size_len) ||
             !uds_fits_bytes(req->size_compressed, req->size_len)))
                return -ERANGE;

        uds_put_u8(&w, UDS_SID_REQUEST_FILE_TRANSFER);
        uds_put_u8(&w, req->mode);
        uds_put_be(&w, req->path_len, 2);
        uds_put_bytes(&w, req->path, req->path_len);
        if (file_mode_has_sizes(req->mode) || req->mode == UDS_FILE_READ)
                uds_put_u8(&w, req->dfi);
        if (file_mode_has_sizes(req->mode)) {
                uds_put_u8(&w, req->size_len);
                uds_put_be(&w, req->size_uncompressed, req->size_len);
                uds_put_be(&w, req->size_compressed, req->size_len);
        }
        return uds_writer_finish(&w, ret_len);
}

/* The part after the path: DFI [FSPL sizes], depending on the mode. */
static int parse_file_tail(const uint8_t *p, size_t n, UdsFileTransferRequest *req) {
        if (req->mode == UDS_FILE_DELETE || req->mode == UDS_FILE_READ_DIR)
                return n == 0 ? 0 : -EBADMSG;
        if (n < 1)
                return -EBADMSG;
        req->dfi = p[0];
        if (req->mode == UDS_FILE_READ)
                return n == 1 ? 0 : -EBADMSG;
        if (n < 2)
                return -EBADMSG;
        req->size_len = p[1];
        if (!field_len_valid(req->size_len))
                return -ERANGE;
        if (n != 2u + 2u * req->size_len)
                return -EBADMSG;
        req->size_uncompressed = uds_be_read(p + 2, req->size_len);
        req->size_compressed = uds_be_read(p + 2 + req->size_len, req->size_len);
        return 0;
}

int uds_parse_file_transfer_request(const uint8_t *msg, size_t len, UdsFileTransferRequest *ret) {
        UdsFileTransferRequest req = {};
        size_t path_len;
        int r;

        r = uds_check_request(UDS_SID_REQUEST_FILE_TRANSFER, msg, len, 4);
        if (r < 0)
                return r;
        req.mode = msg[1];
        if (!file_mode_valid(req.mode))
                return -ERANGE;
        path_len = (size_t) uds_be_read(msg + 2, 2);
        if (len - 4 < path_len)
                return -EBADMSG;
        req.path = (const char *) msg + 4;
        req.path_len = path_len;
        if (!path_valid(req.path, path_len))
                return -ERANGE;
        r = parse_file_tail(msg + 4 + path_len, len - 4 - path_len, &req);
        if (r < 0)
                return r;
        if (ret)
                *ret = req;
        return 0;
}

int uds_build_file_transfer_response(uint8_t *buf, size_t size, const UdsFileTransferResponse *rsp, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (!rsp || !file_mode_valid(rsp->mode))
                return -EINVAL;
        uds_put_u8(&w, UDS_SID_REQUEST_FILE_TRANSFER + UDS_POSITIVE_RESPONSE_OFFSET);
        uds_put_u8(&w, rsp->mode);
        if (rsp->mode == UDS_FILE_DELETE)
                return uds_writer_finish(&w, ret_len);

        if (rsp->max_block_len < UDS_BLOCK_LEN_MIN)
                return -EINVAL;
        put_block_len(&w, rsp->max_block_len, uds_min_bytes(rsp->max_block_len));
        uds_put_u8(&w, rsp->dfi);
        if (rsp->mode == UDS_FILE_READ || rsp->mode == UDS_FILE_READ_DIR) {
                if (!field_len_valid(rsp->size_len) || !uds_fits_bytes(rsp->size_uncompressed, rsp->size_len) ||
                    (rsp->mode == UDS_FILE_READ && !uds_fits_bytes(rsp->size_compressed, rsp->size_len)))
                        return -ERANGE;
                uds_put_be(&w, rsp->size_len, 2);
                uds_put_be(&w, rsp->size_uncompressed, rsp->size_len);
                if (rsp->mode == UDS_FILE_READ)
                        uds_put_be(&w, rsp->size_compressed, rsp->size_len);
        } else if (rsp->mode == UDS_FILE_RESUME)
                uds_put_be(&w, rsp->file_position, 8);
        return uds_writer_finish(&w, ret_len);
}

/* The part after DFI: sizes (read, read dir) or the file position (resume). */
static int parse_file_response_tail(const uint8_t *p, size_t n, UdsFileTransferResponse *rsp) {
        size_t fields;
        uint64_t w;

        if (rsp->mode == UDS_FILE_ADD || rsp->mode == UDS_FILE_REPLACE)
                return n == 0 ? 0 : -EBADMSG;
        if (rsp->mode == UDS_FILE_RESUME) {
                if (n != 8)
                        return -EBADMSG;
                rsp->file_position = uds_be_read(p, 8);
                return 0;
        }
        if (n < 2)
                return -EBADMSG;
        w = uds_be_read(p, 2);
        if (w == 0)
                return -EBADMSG;
        if (w > UDS_FIELD_LEN_MAX)
                return -ERANGE;
        rsp->size_len = (uint8_t) w;
        fields = rsp->mode == UDS_FILE_READ ? 2 : 1;
        if (n != 2 + fields * w)
                return -EBADMSG;
        rsp->size_uncompressed = uds_be_read(p + 2, w);
        if (fields == 2)
                rsp->size_compressed = uds_be_read(p + 2 + w, w);
        return 0;
}

int uds_parse_file_transfer_response(const uint8_t *msg, size_t len, uint8_t mode, UdsFileTransferResponse *ret) {
        UdsFileTransferResponse rsp = { .mode = mode };
        size_t off = 2;
        int r;

        if (!file_mode_valid(mode))
                return -EINVAL;
        r = uds_check_response(UDS_SID_REQUEST_FILE_TRANSFER, msg, len, 2);
        if (r < 0)
                return r;
        if (msg[1] != mode)
                return -EPROTO;
        if (mode == UDS_FILE_DELETE) {
                if (len != 2)
                        return -EBADMSG;
        } else {
                r = read_block_len(msg, len, &off, &rsp.max_block_len);
                if (r < 0)
                        return r;
                if (off >= len)
                        return -EBADMSG;
                rsp.dfi = msg[off++];
                r = parse_file_response_tail(msg + off, len - off, &rsp);
                if (r < 0)
                        return r;
        }
        if (ret)
                *ret = rsp;
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * UDS client: one request at a time over a UdsTransport, with P2/P2* and
 * the responsePending rule, and the service helpers.
 */

#include "uds_client.h"
#include "uds_util.h"

void uds_client_init(UdsClient *c, const UdsTransport *t) {
        *c = (UdsClient) {
                .transport = *t,
                .p2_usec = UDS_CLIENT_P2_USEC_DEFAULT,
                .p2_star_usec = UDS_CLIENT_P2_STAR_USEC_DEFAULT,
                .pending_max = UDS_CLIENT_PENDING_MAX_DEFAULT,
                .max_request = UDS_CLIENT_MAX_REQUEST_DEFAULT,
                .transfer_retries = UDS_CLIENT_TRANSFER_RETRIES_DEFAULT,
        };
}

uint8_t uds_client_last_nrc(const UdsClient *c) {
        return c->nrc;
}

int uds_client_send(UdsClient *c, const uint8_t *req, size_t len) {
        if (!c || !req || len == 0)
                return -EINVAL;
        if (len > c->max_request)
                return -EMSGSIZE;
        c->nrc = 0;
        return c->transport.send(c->transport.userdata, req, len);
}

/* Waits for the final answer to a request for sid. *ret_pending (may be
 * NULL): whether a responsePending came, also on failure. */
static int wait_final(UdsClient *c, uint8_t sid, uint8_t **ret_rsp, size_t *ret_len, bool *ret_pending) {
        uint64_t deadline = uds_transport_now_usec() + c->p2_usec;
        unsigned pending = 0;

        if (ret_pending)
                *ret_pending = false;
        for (;;) {
                _cleanup_(uds_freep) uint8_t *msg = NULL;
                size_t len = 0;
                uint8_t nrc = 0;
                int r;

                r = c->transport.recv(c->transport.userdata, &msg, &len, deadline);
                if (r < 0)
                        return r;
                r = uds_classify_response(sid, msg, len, &nrc);
                if (r < 0)
                        return r;
                if (r == UDS_RESPONSE_NEGATIVE) {
                        c->nrc = nrc;
                        return -EREMOTEIO;
                }
                if (r == UDS_RESPONSE_POSITIVE) {
                        *ret_rsp = TAKE_PTR(msg);
                        *ret_len = len;
                        return 0;
                }
                if (ret_pending)
                        *ret_pending = true;
                if (++pending > c->pending_max)
                        return -ETIMEDOUT;
                deadline = uds_transport_now_usec() + c->p2_star_usec;
        }
}

int uds_client_request(UdsClient *c, const uint8_t *req, size_t len, uint8_t **ret_rsp, size_t *ret_len) {
        int r;

        if (!ret_rsp || !ret_len)
                return -EINVAL;
        r = uds_client_send(c, req, len);
        if (r < 0)
                return r;
        return wait_final(c, req[0], ret_rsp, ret_len, NULL);
}

/* ---- the small services ----------------------------------------------------------- */

int uds_client_session_control(UdsClient *c, uint8_t session, UdsSessionTiming *ret_timing) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        UdsSessionTiming timing;
        uint8_t req[2];
        size_t len;
        int r;

        r = uds_build_session_control_request(req, sizeof(req), session, false, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_session_control_response(rsp, len, session, &timing);
        if (r < 0)
                return r;
        if (ret_timing)
                *ret_timing = timing;
        return 0;
}

int uds_client_ecu_reset(UdsClient *c, uint8_t type) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        uint8_t req[2];
        size_t len;
        int r;

        r = uds_build_ecu_reset_request(req, sizeof(req), type, false, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_ecu_reset_response(rsp, len, type, NULL);
        return r < 0 ? r : 0;
}

int uds_client_tester_present(UdsClient *c, bool suppress) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        uint8_t req[2];
        size_t len;
        int r;

        r = uds_build_tester_present(req, sizeof(req), suppress, &len);
        if (r < 0)
                return r;
        if (suppress)
                return uds_client_send(c, req, len);
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        return uds_parse_tester_present_response(rsp, len);
}

/* A malloc'ed copy of data (NULL for an empty one). */
static int copy_out(const uint8_t *data, size_t len, uint8_t **ret, size_t *ret_len) {
        uint8_t *p = NULL;

        if (len > 0) {
                p = malloc(len);
                if (!p)
                        return -ENOMEM;
                memcpy(p, data, len);
        }
        *ret = p;
        *ret_len = len;
        return 0;
}

int uds_client_read_did(UdsClient *c, uint16_t did, uint8_t **ret_data, size_t *ret_len) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        const uint8_t *data;
        size_t len, data_len;
        uint8_t req[3];
        int r;

        if (!ret_data || !ret_len)
                return -EINVAL;
        r = uds_build_read_did_request(req, sizeof(req), did, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_read_did_response(rsp, len, did, &data, &data_len);
        if (r < 0)
                return r;
        return copy_out(data, data_len, ret_data, ret_len);
}

int uds_client_write_did(UdsClient *c, uint16_t did, const uint8_t *data, size_t data_len) {
        _cleanup_(uds_freep) uint8_t *req = NULL, *rsp = NULL;
        size_t len;
        int r;

        if (data_len == 0)
                return -EINVAL;
        if (data_len > c->max_request || c->max_request - data_len < 3)
                return -EMSGSIZE;
        req = malloc(data_len + 3);
        if (!req)
                return -ENOMEM;
        r = uds_build_write_did_request(req, data_len + 3, did, data, data_len, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        return uds_parse_write_did_response(rsp, len, did);
}

int uds_client_routine(UdsClient *c, uint8_t type, uint16_t rid, const uint8_t *option, size_t option_len,
                       uint8_t **ret_status, size_t *ret_status_len) {
        _cleanup_(uds_freep) uint8_t *req = NULL, *rsp = NULL;
        UdsRoutine rt = { .type = type, .rid = rid, .record = option, .record_len = option_len };
        size_t len;
        int r;

        if (option_len > c->max_request || c->max_request - option_len < 4)
                return -EMSGSIZE;
        req = malloc(option_len + 4);
        if (!req)
                return -ENOMEM;
        r = uds_build_routine_request(req, option_len + 4, &rt, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_routine_response(rsp, len, type, rid, &rt);
        if (r < 0)
                return r;
        if (!ret_status)
                return 0;
        return copy_out(rt.record, rt.record_len, ret_status, ret_status_len);
}

/* ---- downloads ------------------------------------------------------------------------ */

static int memory_read(void *userdata, uint64_t offset, uint8_t *buf, size_t len) {
        memcpy(buf, (const uint8_t *) userdata + offset, len);
        return 0;
}

UdsSource uds_source_memory(const void *data, size_t size) {
        return (UdsSource) { .read = memory_read, .userdata = (void *) data, .size = size };
}

/* The answer to TransferData bsc. After a block was repeated, the answer
 * to its first copy may still come: up to *stale answers to the previous
 * counter are skipped. *ret_pending: the server answered "pending". */
static int wait_block_ack(UdsClient *c, uint8_t bsc, unsigned *stale, bool *ret_pending) {
        for (;;) {
                _cleanup_(uds_freep) uint8_t *rsp = NULL;
                size_t len;
                int r;

                r = wait_final(c, UDS_SID_TRANSFER_DATA, &rsp, &len, ret_pending);
                if (r < 0)
                        return r;
                r = uds_parse_transfer_data_response(rsp, len, bsc, NULL, NULL);
                if (r != -EPROTO || *stale == 0 || rsp[1] != (uint8_t) (bsc - 1))
                        return r;
                (*stale)--;
        }
}

/* One TransferData request in buf (len bytes), repeated with the same
 * counter when no answer at all comes (a lost response): the server
 * acknowledges a repeat without writing it again. A block the server
 * answered "pending" (0x78) for is not repeated when the final answer does
 * not come in time: the server has it, and a server that says "pending"
 * until the limit would otherwise hold the transfer for 1 + transfer_retries
 * times the whole pending limit. */
static int transfer_block(UdsClient *c, const uint8_t *buf, size_t len, uint8_t bsc, unsigned *stale) {
        bool pending = false;
        int r = -ETIMEDOUT;

        for (unsigned attempt = 0; attempt <= c->transfer_retries && r == -ETIMEDOUT && !pending; attempt++) {
                if (attempt > 0)
                        (*stale)++;
                r = uds_client_send(c, buf, len);
                if (r < 0)
                        return r;
                r = wait_block_ack(c, bsc, stale, &pending);
        }
        return r;
}

static int transfer_exit(UdsClient *c) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        uint8_t req[1];
        size_t len;
        int r;

        r = uds_build_transfer_exit(req, sizeof(req), NULL, 0, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, req, len, &rsp, &len);
        if (r < 0)
                return r;
        return uds_parse_transfer_exit_response(rsp, len, NULL, NULL);
}

/* TransferData from offset to the end of src, then RequestTransferExit. */
static int transfer_all(UdsClient *c, const UdsSource *src, uint64_t offset, uint64_t max_block_len) {
        _cleanup_(uds_freep) uint8_t *buf = NULL;
        uint64_t chunk = max_block_len - 2;
        unsigned stale = 0;
        uint8_t bsc = 0x01;
        int r;

        if (c->max_request < UDS_BLOCK_LEN_MIN)
                return -EINVAL;
        if (chunk > c->max_request - 2)
                chunk = c->max_request - 2;
        buf = malloc((size_t) chunk + 2);
        if (!buf)
                return -ENOMEM;

        while (offset < src->size) {
                size_t n = (size_t) (src->size - offset < chunk ? src->size - offset : chunk), len;

                r = src->read(src->userdata, offset, buf + 2, n);
                if (r < 0)
                        return r;
                r = uds_build_transfer_data(buf, (size_t) chunk + 2, bsc, buf + 2, n, &len);
                if (r < 0)
                        return r;
                r = transfer_block(c, buf, len, bsc, &stale);
                if (r < 0)
                        return r;
                offset += n;
                bsc++;          /* FF wraps to 00 */
        }
        return transfer_exit(c);
}

int uds_client_download(UdsClient *c, const UdsDownloadRequest *req, const UdsSource *src) {
        _cleanup_(uds_freep) uint8_t *rsp = NULL;
        uint8_t msg[3 + 2 * UDS_FIELD_LEN_MAX];
        uint64_t max_block_len;
        size_t len;
        int r;

        if (!req || !src || !src->read)
                return -EINVAL;
        if ((req->dfi >> 4) == 0 && src->size != req->size)
                return -EINVAL;
        r = uds_build_request_download(msg, sizeof(msg), req, &len);
        if (r < 0)
                return r;
        r = uds_client_request(c, msg, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_request_download_response(rsp, len, &max_block_len);
        if (r < 0)
                return r;
        return transfer_all(c, src, 0, max_block_len);
}

int uds_client_file_transfer(UdsClient *c, const UdsFileTransferRequest *req, const UdsSource *src) {
        _cleanup_(uds_freep) uint8_t *msg = NULL, *rsp = NULL;
        UdsFileTransferResponse ft;
        size_t len, size;
        int r;

        if (!req || !src || !src->read)
                return -EINVAL;
        if (req->mode != UDS_FILE_ADD && req->mode != UDS_FILE_REPLACE && req->mode != UDS_FILE_RESUME)
                return -EOPNOTSUPP;
        if (src->size != req->size_compressed)
                return -EINVAL;
        size = 6 + req->path_len + 2 + 2 * UDS_FIELD_LEN_MAX;
        msg = malloc(size);
        if (!msg)
                return -ENOMEM;
        r = uds_build_file_transfer_request(msg, size, req, &len);
        if (r < 0)
                return r;
        if (len > c->max_request)
                return -EMSGSIZE;
        r = uds_client_request(c, msg, len, &rsp, &len);
        if (r < 0)
                return r;
        r = uds_parse_file_transfer_response(rsp, len, req->mode, &ft);
        if (r < 0)
                return r;
        if (ft.dfi != req->dfi)
                return -EPROTO;
        if (req->mode == UDS_FILE_RESUME && ft.file_position > src->size)
                return -EPROTO;
        return transfer_all(c, src, req->mode == UDS_FILE_RESUME ? ft.file_position : 0, ft.max_block_len);
}

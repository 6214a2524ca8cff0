/* SPDX-License-Identifier: MIT */
/*
 * Every parser of the UDS codec (src/vnet/uds.h) on the input, as request
 * and as response, with the expected echoes taken from the input so that
 * they match now and then; then the download's block counter machine on
 * blocks cut from the input. Crashes on an errno outside the documented
 * classes, on data pointers outside the message, on a parsed request that
 * does not build back to the same bytes, and on counter states the machine
 * must never reach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(x) do { if (!(x)) abort(); } while (0)

static void check_errno(int r) {
        REQUIRE(r >= 0 || r == -EBADMSG || r == -ERANGE || r == -EOPNOTSUPP || r == -EPROTO || r == -EREMOTEIO);
}

/* A data field: inside the message, or empty. */
static void check_span(const uint8_t *msg, size_t len, const void *p, size_t n) {
        REQUIRE(n <= len);
        if (n > 0)
                REQUIRE((const uint8_t *) p >= msg && (const uint8_t *) p + n <= msg + len);
}

static uint16_t be16_at(const uint8_t *d, size_t size, size_t off) {
        return size >= off + 2 ? (uint16_t) (d[off] << 8 | d[off + 1]) : 0;
}

static uint8_t byte_at(const uint8_t *d, size_t size, size_t off) {
        return size > off ? d[off] : 0;
}

/* Builds again and compares with what was parsed. */
static void same_bytes(const uint8_t *msg, size_t len, const uint8_t *built, size_t built_len) {
        REQUIRE(built_len == len && memcmp(built, msg, len) == 0);
}

static void fuzz_small_services(const uint8_t *d, size_t size) {
        uint8_t buf[16], sub, u8;
        uint16_t did;
        bool suppress;
        size_t n, dlen;
        const uint8_t *p;
        UdsSessionTiming t;
        int r;

        r = uds_parse_session_control_request(d, size, &sub, &suppress);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_session_control_request(buf, sizeof(buf), sub, suppress, &n) == 0);
                same_bytes(d, size, buf, n);
        }
        r = uds_parse_session_control_response(d, size, byte_at(d, size, 1), &t);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_session_control_response(buf, sizeof(buf), byte_at(d, size, 1), &t, &n) == 0);
                same_bytes(d, size, buf, n);
        }

        r = uds_parse_ecu_reset_request(d, size, &sub, &suppress);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_ecu_reset_request(buf, sizeof(buf), sub, suppress, &n) == 0);
                same_bytes(d, size, buf, n);
        }
        r = uds_parse_ecu_reset_response(d, size, byte_at(d, size, 1), &u8);
        check_errno(r);
        REQUIRE(r <= 1);

        r = uds_parse_tester_present(d, size, &suppress);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_tester_present(buf, sizeof(buf), suppress, &n) == 0);
                same_bytes(d, size, buf, n);
        }
        check_errno(uds_parse_tester_present_response(d, size));

        r = uds_parse_read_did_request(d, size, &did);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_read_did_request(buf, sizeof(buf), did, &n) == 0);
                same_bytes(d, size, buf, n);
        }
        r = uds_parse_read_did_response(d, size, be16_at(d, size, 1), &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
        r = uds_parse_write_did_request(d, size, &did, &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
        check_errno(uds_parse_write_did_response(d, size, be16_at(d, size, 1)));
}

static void fuzz_routine(const uint8_t *d, size_t size) {
        UdsRoutine rt;
        int r;

        r = uds_parse_routine_request(d, size, &rt);
        check_errno(r);
        if (r >= 0) {
                uint8_t *buf = malloc(size);
                size_t n;

                REQUIRE(buf);
                check_span(d, size, rt.record, rt.record_len);
                REQUIRE(uds_build_routine_request(buf, size, &rt, &n) == 0);
                same_bytes(d, size, buf, n);
                free(buf);
        }
        r = uds_parse_routine_response(d, size, byte_at(d, size, 1), be16_at(d, size, 2), &rt);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, rt.record, rt.record_len);
}

static void fuzz_transfer(const uint8_t *d, size_t size) {
        UdsDownloadRequest req;
        uint8_t buf[32], bsc;
        const uint8_t *p;
        uint64_t mbl;
        size_t n, dlen;
        int r;

        r = uds_parse_request_download(d, size, &req);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(uds_build_request_download(buf, sizeof(buf), &req, &n) == 0);
                same_bytes(d, size, buf, n);
        }
        r = uds_parse_request_download_response(d, size, &mbl);
        check_errno(r);
        if (r >= 0) {
                REQUIRE(mbl >= UDS_BLOCK_LEN_MIN);
                REQUIRE(uds_build_request_download_response(buf, sizeof(buf), mbl, byte_at(d, size, 1) >> 4, &n) == 0);
                same_bytes(d, size, buf, n);
        }

        r = uds_parse_transfer_data(d, size, &bsc, &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
        r = uds_parse_transfer_data_response(d, size, byte_at(d, size, 1), &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
        r = uds_parse_transfer_exit(d, size, &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
        r = uds_parse_transfer_exit_response(d, size, &p, &dlen);
        check_errno(r);
        if (r >= 0)
                check_span(d, size, p, dlen);
}

static void fuzz_file_transfer(const uint8_t *d, size_t size) {
        UdsFileTransferRequest req;
        UdsFileTransferResponse rsp;
        int r;

        r = uds_parse_file_transfer_request(d, size, &req);
        check_errno(r);
        if (r >= 0) {
                uint8_t *buf = malloc(size);
                size_t n;

                REQUIRE(buf);
                REQUIRE(req.path_len >= 1 && req.path_len <= UDS_FILE_PATH_MAX);
                REQUIRE(!memchr(req.path, '\0', req.path_len));
                check_span(d, size, req.path, req.path_len);
                REQUIRE(uds_build_file_transfer_request(buf, size, &req, &n) == 0);
                same_bytes(d, size, buf, n);
                free(buf);
        }
        for (uint8_t mode = UDS_FILE_ADD; mode <= UDS_FILE_RESUME; mode++) {
                r = uds_parse_file_transfer_response(d, size, mode, &rsp);
                check_errno(r);
                if (r >= 0 && mode != UDS_FILE_DELETE)
                        REQUIRE(rsp.max_block_len >= UDS_BLOCK_LEN_MIN);
        }
}

static void fuzz_responses(const uint8_t *d, size_t size) {
        uint8_t sid, nrc;
        int r;

        r = uds_parse_negative_response(d, size, &sid, &nrc);
        check_errno(r);
        if (r >= 0)
                REQUIRE(size == 3 && nrc != 0);
        r = uds_classify_response(byte_at(d, size, 1), d, size, &nrc);
        check_errno(r);
        REQUIRE(r <= UDS_RESPONSE_NEGATIVE);
        if (r == UDS_RESPONSE_PENDING)
                REQUIRE(nrc == UDS_NRC_RESPONSE_PENDING);
        (void) uds_nrc_name(byte_at(d, size, 0));
}

/* The input as: total (2 bytes), maxNumberOfBlockLength (1), then blocks
 * of: counter, length (1), that many bytes (fewer at the end). */
static void fuzz_download(const uint8_t *d, size_t size) {
        UdsDownloadState s;
        size_t off = 3;

        if (size < 3 || uds_download_start(&s, be16_at(d, size, 0), d[2]) < 0)
                return;
        while (off + 2 <= size) {
                uint8_t bsc = d[off], nrc = 0, before = s.next_bsc;
                size_t len = d[off + 1];
                uint64_t received = s.received;
                int r;

                off += 2;
                if (len > size - off)
                        len = size - off;
                off += len;
                r = uds_download_block(&s, bsc, len, &nrc);
                if (r == UDS_BLOCK_NEW)
                        REQUIRE(bsc == before && s.received == received + len && s.next_bsc == (uint8_t) (before + 1));
                else if (r == UDS_BLOCK_REPEATED)
                        REQUIRE(bsc == (uint8_t) (before - 1) && s.received == received);
                else
                        REQUIRE(nrc != 0 && s.received <= s.total);
                REQUIRE(!s.active || (s.received <= s.total && s.max_data + 2 == d[2]));
        }
        if (uds_download_finish(&s, NULL) == 0)
                REQUIRE(!s.active);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_small_services(data, size);
        fuzz_routine(data, size);
        fuzz_transfer(data, size);
        fuzz_file_transfer(data, size);
        fuzz_responses(data, size);
        fuzz_download(data, size);
        return 0;
}

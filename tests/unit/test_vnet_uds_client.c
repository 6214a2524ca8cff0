/* SPDX-License-Identifier: MIT */
/*
 * The UDS client (src/vnet/uds_client.h) over an in-memory transport pair,
 * against a fake server thread built on the codec and the download state
 * machine: downloads and file transfers in blocks, responsePending,
 * timeouts, negative and malformed answers, a lost TransferData response.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uds.h"
#include "uds_client.h"

/* ---- an in-memory message queue (one direction) ----------------------------------------- */

typedef struct Msg {
        struct Msg *next;
        size_t len;
        uint8_t data[];
} Msg;

typedef struct Queue {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Msg *head, **tail;
        bool closed;
} Queue;

static void queue_init(Queue *q) {
        pthread_condattr_t a;

        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&q->cond, &a);
        pthread_condattr_destroy(&a);
        pthread_mutex_init(&q->lock, NULL);
        q->head = NULL;
        q->tail = &q->head;
        q->closed = false;
}

static void queue_close(Queue *q) {
        pthread_mutex_lock(&q->lock);
        q->closed = true;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
}

static void queue_free(Queue *q) {
        while (q->head) {
                Msg *m = q->head;

                q->head = m->next;
                free(m);
        }
}

static int queue_push(Queue *q, const uint8_t *data, size_t len) {
        Msg *m = malloc(sizeof(Msg) + len);

        if (!m)
                return -ENOMEM;
        m->next = NULL;
        m->len = len;
        memcpy(m->data, data, len);
        pthread_mutex_lock(&q->lock);
        *q->tail = m;
        q->tail = &m->next;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
        return 0;
}

static int queue_pop(Queue *q, uint8_t **ret, size_t *ret_len, uint64_t deadline_usec) {
        struct timespec ts = { .tv_sec = (time_t) (deadline_usec / 1000000),
                               .tv_nsec = (long) (deadline_usec % 1000000) * 1000 };
        Msg *m;
        int r = 0;

        pthread_mutex_lock(&q->lock);
        while (!q->head && !q->closed && r == 0)
                r = pthread_cond_timedwait(&q->cond, &q->lock, &ts);
        m = q->head;
        if (m) {
                q->head = m->next;
                if (!q->head)
                        q->tail = &q->head;
        }
        pthread_mutex_unlock(&q->lock);
        if (!m)
                return q->closed ? -EPIPE : -ETIMEDOUT;

        *ret = malloc(m->len ? m->len : 1);
        ck_assert_ptr_nonnull(*ret);
        memcpy(*ret, m->data, m->len);
        *ret_len = m->len;
        free(m);
        return 0;
}

/* ---- the fake server ------------------------------------------------------------------- */

typedef struct FakeServer {
        Queue to_server, to_client;
        pthread_t thread;

        /* behaviour */
        bool silent;                  /* never answers */
        unsigned pending;             /* 0x78 answers before the answer to 0x31 */
        uint64_t pending_gap_usec;    /* between them */
        bool pending_forever;         /* one 0x78, then nothing */
        uint8_t nrc[256];             /* answer SID with 7F SID NRC */
        unsigned drop_block;          /* no answer to the n-th TransferData request (1-based) */
        unsigned late_block;          /* answer the n-th TransferData request late */
        uint64_t late_usec;
        bool wrong_bsc;               /* echo the counter + 1 */
        const uint8_t *canned;        /* answer everything with these bytes */
        size_t canned_len;
        uint64_t max_block_len;       /* in the 74/78 responses */
        unsigned transfer_pending;    /* TransferData: this many 0x78 (pending_gap_usec apart), then nothing */

        /* state */
        UdsDownloadState dl;
        uint8_t *image;
        size_t image_size;
        unsigned requests, blocks, writes, repeats, exits;
        size_t largest_block;
        uint8_t file_mode;
        char path[UDS_FILE_PATH_MAX + 1];
        uint8_t did_f1a4[64];
        size_t did_f1a4_len;
} FakeServer;

static FakeServer srv;

static void reply(const uint8_t *msg, size_t len) {
        ck_assert_int_eq(queue_push(&srv.to_client, msg, len), 0);
}

static void reply_nrc(uint8_t sid, uint8_t nrc) {
        uint8_t b[3];
        size_t len;

        ck_assert_int_eq(uds_build_negative_response(b, sizeof(b), sid, nrc, &len), 0);
        reply(b, len);
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

static void serve_session(const uint8_t *req, size_t len) {
        UdsSessionTiming t = { .p2_ms = 50, .p2_star_ms = 5000 };
        uint8_t b[8], session;
        bool suppress;
        size_t n;

        if (uds_parse_session_control_request(req, len, &session, &suppress) < 0)
                return reply_nrc(req[0], UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        ck_assert_int_eq(uds_build_session_control_response(b, sizeof(b), session, &t, &n), 0);
        if (!suppress)
                reply(b, n);
}

static void serve_reset(const uint8_t *req, size_t len) {
        uint8_t b[4], type;
        bool suppress;
        size_t n;

        ck_assert_int_eq(uds_parse_ecu_reset_request(req, len, &type, &suppress), 0);
        ck_assert_int_eq(uds_build_ecu_reset_response(b, sizeof(b), type, -1, &n), 0);
        if (!suppress)
                reply(b, n);
}

static void serve_tester_present(const uint8_t *req, size_t len) {
        uint8_t b[2];
        bool suppress;
        size_t n;

        ck_assert_int_eq(uds_parse_tester_present(req, len, &suppress), 0);
        ck_assert_int_eq(uds_build_tester_present_response(b, sizeof(b), &n), 0);
        if (!suppress)
                reply(b, n);
}

static void serve_read_did(const uint8_t *req, size_t len) {
        static const char vin[] = "W0L000043MB541326";
        uint8_t b[80];
        uint16_t did;
        size_t n;

        ck_assert_int_eq(uds_parse_read_did_request(req, len, &did), 0);
        if (did == 0xF190)
                ck_assert_int_eq(uds_build_read_did_response(b, sizeof(b), did, (const uint8_t *) vin, 17, &n), 0);
        else if (did == 0xF1A4 && srv.did_f1a4_len > 0)
                ck_assert_int_eq(uds_build_read_did_response(b, sizeof(b), did, srv.did_f1a4, srv.did_f1a4_len, &n), 0);
        else
                return reply_nrc(req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        reply(b, n);
}

static void serve_write_did(const uint8_t *req, size_t len) {
        const uint8_t *data;
        uint8_t b[3];
        uint16_t did;
        size_t n, data_len;

        ck_assert_int_eq(uds_parse_write_did_request(req, len, &did, &data, &data_len), 0);
        if (did != 0xF1A4 || data_len > sizeof(srv.did_f1a4))
                return reply_nrc(req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        memcpy(srv.did_f1a4, data, data_len);
        srv.did_f1a4_len = data_len;
        ck_assert_int_eq(uds_build_write_did_response(b, sizeof(b), did, &n), 0);
        reply(b, n);
}

static void serve_routine(const uint8_t *req, size_t len) {
        UdsRoutine rt;
        uint8_t b[16], status[] = { 0x00, 0x42 };
        size_t n;

        ck_assert_int_eq(uds_parse_routine_request(req, len, &rt), 0);
        if (srv.pending_forever)
                return reply_nrc(req[0], UDS_NRC_RESPONSE_PENDING);
        for (unsigned i = 0; i < srv.pending; i++) {
                reply_nrc(req[0], UDS_NRC_RESPONSE_PENDING);
                sleep_usec(srv.pending_gap_usec);
        }
        rt.record = status;
        rt.record_len = sizeof(status);
        ck_assert_int_eq(uds_build_routine_response(b, sizeof(b), &rt, &n), 0);
        reply(b, n);
}

static void start_download(uint64_t size) {
        free(srv.image);
        srv.image = calloc(1, size ? size : 1);
        ck_assert_ptr_nonnull(srv.image);
        srv.image_size = size;
        ck_assert_int_eq(uds_download_start(&srv.dl, size, srv.max_block_len), 0);
}

static void serve_request_download(const uint8_t *req, size_t len) {
        UdsDownloadRequest d;
        uint8_t b[16];
        size_t n;
        int r;

        r = uds_parse_request_download(req, len, &d);
        if (r < 0)
                return reply_nrc(req[0], uds_nrc_from_parse_error(r));
        if (d.size > 64 * 1024 * 1024)
                return reply_nrc(req[0], UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED);
        start_download(d.size);
        ck_assert_int_eq(uds_build_request_download_response(b, sizeof(b), srv.max_block_len, 0, &n), 0);
        reply(b, n);
}

static void serve_file_transfer(const uint8_t *req, size_t len) {
        UdsFileTransferRequest f;
        UdsFileTransferResponse rsp;
        uint8_t b[32];
        size_t n;
        int r;

        r = uds_parse_file_transfer_request(req, len, &f);
        if (r < 0)
                return reply_nrc(req[0], uds_nrc_from_parse_error(r));
        if (f.mode != UDS_FILE_REPLACE && f.mode != UDS_FILE_ADD)
                return reply_nrc(req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        memcpy(srv.path, f.path, f.path_len);
        srv.path[f.path_len] = '\0';
        srv.file_mode = f.mode;
        start_download(f.size_compressed);
        rsp = (UdsFileTransferResponse) { .mode = f.mode, .max_block_len = srv.max_block_len, .dfi = f.dfi };
        ck_assert_int_eq(uds_build_file_transfer_response(b, sizeof(b), &rsp, &n), 0);
        reply(b, n);
}

static void serve_transfer_data(const uint8_t *req, size_t len) {
        const uint8_t *data;
        uint8_t b[2], bsc, nrc;
        size_t n, data_len;
        uint64_t offset = srv.dl.received;
        int r;

        ck_assert_int_eq(uds_parse_transfer_data(req, len, &bsc, &data, &data_len), 0);
        srv.blocks++;
        for (unsigned i = 0; i < srv.transfer_pending; i++) {
                if (i > 0)
                        sleep_usec(srv.pending_gap_usec);
                reply_nrc(req[0], UDS_NRC_RESPONSE_PENDING);
        }
        if (srv.transfer_pending)
                return;
        r = uds_download_block(&srv.dl, bsc, data_len, &nrc);
        if (r < 0)
                return reply_nrc(req[0], nrc);
        if (r == UDS_BLOCK_NEW) {
                memcpy(srv.image + offset, data, data_len);
                srv.writes++;
                if (data_len > srv.largest_block)
                        srv.largest_block = data_len;
        } else
                srv.repeats++;
        if (srv.blocks == srv.drop_block)
                return;
        if (srv.blocks == srv.late_block)
                sleep_usec(srv.late_usec);
        ck_assert_int_eq(uds_build_transfer_data_response(b, sizeof(b), (uint8_t) (bsc + srv.wrong_bsc), NULL, 0, &n),
                         0);
        reply(b, n);
}

static void serve_transfer_exit(const uint8_t *req, size_t len) {
        uint8_t b[1], nrc;
        size_t n;

        ck_assert_int_eq(uds_parse_transfer_exit(req, len, NULL, NULL), 0);
        if (uds_download_finish(&srv.dl, &nrc) < 0)
                return reply_nrc(req[0], nrc);
        srv.exits++;
        ck_assert_int_eq(uds_build_transfer_exit_response(b, sizeof(b), NULL, 0, &n), 0);
        reply(b, n);
}

static void serve(const uint8_t *req, size_t len) {
        srv.requests++;
        if (srv.silent)
                return;
        if (srv.canned)
                return reply(srv.canned, srv.canned_len);
        if (srv.nrc[req[0]])
                return reply_nrc(req[0], srv.nrc[req[0]]);
        switch (req[0]) {
        case UDS_SID_DIAGNOSTIC_SESSION_CONTROL: return serve_session(req, len);
        case UDS_SID_ECU_RESET: return serve_reset(req, len);
        case UDS_SID_TESTER_PRESENT: return serve_tester_present(req, len);
        case UDS_SID_READ_DATA_BY_IDENTIFIER: return serve_read_did(req, len);
        case UDS_SID_WRITE_DATA_BY_IDENTIFIER: return serve_write_did(req, len);
        case UDS_SID_ROUTINE_CONTROL: return serve_routine(req, len);
        case UDS_SID_REQUEST_DOWNLOAD: return serve_request_download(req, len);
        case UDS_SID_REQUEST_FILE_TRANSFER: return serve_file_transfer(req, len);
        case UDS_SID_TRANSFER_DATA: return serve_transfer_data(req, len);
        case UDS_SID_REQUEST_TRANSFER_EXIT: return serve_transfer_exit(req, len);
        default: return reply_nrc(req[0], UDS_NRC_SERVICE_NOT_SUPPORTED);
        }
}

static void *server_main(void *arg) {
        (void) arg;
        for (;;) {
                uint8_t *req;
                size_t len;

                if (queue_pop(&srv.to_server, &req, &len, UINT64_MAX / 2) < 0)
                        return NULL;
                serve(req, len);
                free(req);
        }
}

/* ---- the client's transport ------------------------------------------------------------- */

static int mem_send(void *userdata, const uint8_t *data, size_t len) {
        return queue_push(&((FakeServer *) userdata)->to_server, data, len);
}

static int mem_recv(void *userdata, uint8_t **ret, size_t *ret_len, uint64_t deadline_usec) {
        return queue_pop(&((FakeServer *) userdata)->to_client, ret, ret_len, deadline_usec);
}

static UdsClient client;

static void setup(void) {
        UdsTransport t = { .send = mem_send, .recv = mem_recv, .userdata = &srv };

        srv = (FakeServer) { .max_block_len = 4095 };
        queue_init(&srv.to_server);
        queue_init(&srv.to_client);
        uds_client_init(&client, &t);
        client.p2_usec = 500000;         /* fast tests: an in-memory "bus" */
        client.p2_star_usec = 1000000;
}

static void start_server(void) {
        ck_assert_int_eq(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
}

static void teardown(void) {
        queue_close(&srv.to_server);
        pthread_join(srv.thread, NULL);
        queue_free(&srv.to_server);
        queue_free(&srv.to_client);
        free(srv.image);
}

static uint8_t *random_image(size_t size) {
        uint8_t *p = malloc(size);
        uint32_t x = 0x12345678;

        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < size; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                p[i] = (uint8_t) x;
        }
        return p;
}

static uint64_t elapsed_usec(uint64_t since) {
        return uds_transport_now_usec() - since;
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_download_1mib) {
        const size_t size = 1024 * 1024;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0x08000000, .address_len = 4, .size = size, .size_len = 4 };
        UdsSource src = uds_source_memory(img, size);

        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), 0);
        ck_assert_uint_eq(srv.image_size, size);
        ck_assert_mem_eq(srv.image, img, size);
        /* blocks of maxNumberOfBlockLength - 2 = 4093 bytes: 257 blocks, the counter wrapped once */
        ck_assert_uint_eq(srv.writes, (size + 4092) / 4093);
        ck_assert_uint_eq(srv.writes, 257);
        ck_assert_uint_eq(srv.largest_block, 4093);
        ck_assert_uint_eq(srv.repeats, 0);
        ck_assert_uint_eq(srv.exits, 1);
        ck_assert_uint_eq(srv.requests, 1 + 257 + 1);
        free(img);
}
END_TEST

START_TEST(test_download_capped_by_transport) {
        const size_t size = 10000;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0, .address_len = 1, .size = size, .size_len = 2 };
        UdsSource src = uds_source_memory(img, size);

        client.max_request = 1000;      /* the transport carries less than the server takes */
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), 0);
        ck_assert_mem_eq(srv.image, img, size);
        ck_assert_uint_eq(srv.largest_block, 998);
        ck_assert_uint_eq(srv.writes, 11);
        free(img);
}
END_TEST

START_TEST(test_download_small_blocks_wrap_twice) {
        const size_t size = 700;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0x1000, .address_len = 2, .size = size, .size_len = 2 };
        UdsSource src = uds_source_memory(img, size);

        srv.max_block_len = 3;          /* one byte per block: 700 blocks, BSC wraps twice */
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), 0);
        ck_assert_mem_eq(srv.image, img, size);
        ck_assert_uint_eq(srv.writes, 700);
        free(img);
}
END_TEST

START_TEST(test_download_lost_response) {
        const size_t size = 50000;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = size, .size_len = 4 };
        UdsSource src = uds_source_memory(img, size);

        client.p2_usec = 300000;         /* an ordinary block on a loaded runner must not time out */
        srv.drop_block = 3;             /* written, but its answer is lost */
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), 0);
        ck_assert_mem_eq(srv.image, img, size);
        ck_assert_uint_eq(srv.repeats, 1);
        ck_assert_uint_eq(srv.writes, 13);
        ck_assert_uint_eq(srv.blocks, 14);
        free(img);
}
END_TEST

START_TEST(test_download_late_response) {
        const size_t size = 50000;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = size, .size_len = 4 };
        UdsSource src = uds_source_memory(img, size);

        /* block 2's answer comes after P2: the client repeats the block,
         * takes the late answer, and skips the answer to the repeat.
         * The answer lands half a P2 after the repeat went out, so a
         * loaded CI machine has 150 ms either way before a second repeat */
        client.p2_usec = 300000;
        srv.late_block = 2;
        srv.late_usec = 450000;
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), 0);
        ck_assert_mem_eq(srv.image, img, size);
        ck_assert_uint_eq(srv.repeats, 1);
        ck_assert_uint_eq(srv.writes, 13);
        free(img);
}
END_TEST

START_TEST(test_download_lost_too_often) {
        const size_t size = 5000;
        uint8_t *img = random_image(size);
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = size, .size_len = 4 };
        UdsSource src = uds_source_memory(img, size);

        client.p2_usec = 50000;
        client.transfer_retries = 0;
        srv.drop_block = 1;
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -ETIMEDOUT);
        free(img);
}
END_TEST

/* A block answered "pending" until the client's pending limit, or pending
 * and then nothing: the server has the block, so it is not repeated (a
 * repeat would cost the whole limit again, 1 + transfer_retries times). */
START_TEST(test_download_pending_not_repeated) {
        uint8_t img[3000] = {};
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = sizeof(img), .size_len = 4 };
        UdsSource src = uds_source_memory(img, sizeof(img));
        uint64_t start, t;

        client.p2_usec = 200000;
        client.p2_star_usec = 300000;
        client.pending_max = 2;
        srv.transfer_pending = 4;      /* over the limit of 2 */
        srv.pending_gap_usec = 20000;
        start_server();
        start = uds_transport_now_usec();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -ETIMEDOUT);
        t = elapsed_usec(start);
        sleep_usec(300000);            /* a repeat, had there been one, is served meanwhile */
        ck_assert_uint_eq(srv.blocks, 1);
        ck_assert_uint_lt(t, 200000 + 300000);
}
END_TEST

/* One 0x78 for the block, then silence: given up after P2*, not repeated. */
START_TEST(test_download_pending_then_silence_not_repeated) {
        uint8_t img[3000] = {};
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = sizeof(img), .size_len = 4 };
        UdsSource src = uds_source_memory(img, sizeof(img));
        uint64_t start, t;

        client.p2_usec = 200000;
        client.p2_star_usec = 300000;
        srv.transfer_pending = 1;
        start_server();
        start = uds_transport_now_usec();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -ETIMEDOUT);
        t = elapsed_usec(start);
        sleep_usec(300000);
        ck_assert_uint_eq(srv.blocks, 1);
        ck_assert_uint_ge(t, 300000);
        ck_assert_uint_lt(t, 200000 + 2 * 300000);
}
END_TEST

START_TEST(test_download_rejected) {
        uint8_t img[16] = {};
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = sizeof(img), .size_len = 4 };
        UdsSource src = uds_source_memory(img, sizeof(img));

        srv.nrc[UDS_SID_REQUEST_DOWNLOAD] = UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED;
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -EREMOTEIO);
        ck_assert_uint_eq(uds_client_last_nrc(&client), 0x70);
        ck_assert_str_eq(uds_nrc_name(uds_client_last_nrc(&client)), "uploadDownloadNotAccepted");

        /* the source must match the announced size */
        req.size = 17;
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -EINVAL);
}
END_TEST

START_TEST(test_download_wrong_bsc_echo) {
        uint8_t img[100] = {};
        UdsDownloadRequest req = { .address = 0, .address_len = 4, .size = sizeof(img), .size_len = 4 };
        UdsSource src = uds_source_memory(img, sizeof(img));

        srv.wrong_bsc = true;
        start_server();
        ck_assert_int_eq(uds_client_download(&client, &req, &src), -EPROTO);
}
END_TEST

START_TEST(test_file_transfer) {
        const size_t size = 100 * 1024 + 7;
        uint8_t *img = random_image(size);
        UdsFileTransferRequest req = { .mode = UDS_FILE_REPLACE, .path = "target/fw.bin", .path_len = 13,
                                       .size_len = 4, .size_uncompressed = size, .size_compressed = size };
        UdsSource src = uds_source_memory(img, size);

        srv.max_block_len = 1026;
        start_server();
        ck_assert_int_eq(uds_client_file_transfer(&client, &req, &src), 0);
        ck_assert_str_eq(srv.path, "target/fw.bin");
        ck_assert_uint_eq(srv.file_mode, UDS_FILE_REPLACE);
        ck_assert_mem_eq(srv.image, img, size);
        ck_assert_uint_eq(srv.largest_block, 1024);
        ck_assert_uint_eq(srv.writes, 101);
        ck_assert_uint_eq(srv.exits, 1);

        /* an empty file: 38, then 37 */
        req.mode = UDS_FILE_ADD;
        req.size_uncompressed = req.size_compressed = 0;
        src = uds_source_memory(img, 0);
        ck_assert_int_eq(uds_client_file_transfer(&client, &req, &src), 0);
        ck_assert_uint_eq(srv.exits, 2);

        req.mode = UDS_FILE_DELETE;
        ck_assert_int_eq(uds_client_file_transfer(&client, &req, &src), -EOPNOTSUPP);
        req.mode = UDS_FILE_ADD;
        req.size_compressed = 1;
        ck_assert_int_eq(uds_client_file_transfer(&client, &req, &src), -EINVAL);
        free(img);
}
END_TEST

START_TEST(test_services) {
        UdsSessionTiming t = {};
        uint8_t *data = NULL, *status = NULL;
        size_t len = 0;

        start_server();
        ck_assert_int_eq(uds_client_session_control(&client, UDS_SESSION_PROGRAMMING, &t), 0);
        ck_assert_uint_eq(t.p2_ms, 50);
        ck_assert_uint_eq(t.p2_star_ms, 5000);
        ck_assert_int_eq(uds_client_ecu_reset(&client, UDS_RESET_HARD), 0);
        ck_assert_int_eq(uds_client_tester_present(&client, false), 0);
        ck_assert_int_eq(uds_client_tester_present(&client, true), 0);      /* no answer expected */

        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), 0);
        ck_assert_uint_eq(len, 17);
        ck_assert_mem_eq(data, "W0L000043MB541326", 17);
        free(data);

        ck_assert_int_eq(uds_client_write_did(&client, 0xF1A4, (const uint8_t *) "{\"t\":1}", 7), 0);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF1A4, &data, &len), 0);
        ck_assert_uint_eq(len, 7);
        ck_assert_mem_eq(data, "{\"t\":1}", 7);
        free(data);

        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_START, 0x0A01, (const uint8_t[]) { 1 }, 1, &status,
                                            &len), 0);
        ck_assert_uint_eq(len, 2);
        ck_assert_uint_eq(status[0], 0x00);
        ck_assert_uint_eq(status[1], 0x42);
        free(status);
        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_RESULTS, 0x0A01, NULL, 0, NULL, NULL), 0);
        ck_assert_uint_eq(srv.requests, 9);
}
END_TEST

START_TEST(test_negative_response) {
        uint8_t *data = (uint8_t *) 0x1, *status = (uint8_t *) 0x1;
        size_t len = 99;

        start_server();
        ck_assert_int_eq(uds_client_read_did(&client, 0x1234, &data, &len), -EREMOTEIO);
        ck_assert_uint_eq(uds_client_last_nrc(&client), UDS_NRC_REQUEST_OUT_OF_RANGE);
        ck_assert_ptr_eq(data, (uint8_t *) 0x1);
        ck_assert_uint_eq(len, 99);

        srv.nrc[UDS_SID_ROUTINE_CONTROL] = UDS_NRC_CONDITIONS_NOT_CORRECT;
        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_START, 0x0A02, NULL, 0, &status, &len), -EREMOTEIO);
        ck_assert_uint_eq(uds_client_last_nrc(&client), 0x22);
        ck_assert_ptr_eq(status, (uint8_t *) 0x1);

        /* the next successful request clears it */
        ck_assert_int_eq(uds_client_tester_present(&client, false), 0);
        ck_assert_uint_eq(uds_client_last_nrc(&client), 0);
}
END_TEST

START_TEST(test_pending_extends_deadline) {
        uint64_t start;

        /* five 0x78 answers 150 ms apart: each beyond P2 (100 ms), within P2* (400 ms) */
        client.p2_usec = 100000;
        client.p2_star_usec = 400000;
        srv.pending = 5;
        srv.pending_gap_usec = 150000;
        start_server();
        start = uds_transport_now_usec();
        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_START, 0x0A02, NULL, 0, NULL, NULL), 0);
        ck_assert_uint_ge(elapsed_usec(start), 5 * 150000);
}
END_TEST

START_TEST(test_pending_then_silence) {
        uint64_t start, t;

        client.p2_usec = 100000;
        client.p2_star_usec = 300000;
        srv.pending_forever = true;
        start_server();
        start = uds_transport_now_usec();
        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_START, 0x0A02, NULL, 0, NULL, NULL), -ETIMEDOUT);
        t = elapsed_usec(start);
        ck_assert_uint_ge(t, 300000);
        ck_assert_uint_lt(t, 300000 + 250000);
}
END_TEST

START_TEST(test_pending_limit) {
        client.p2_usec = 100000;
        client.p2_star_usec = 300000;
        client.pending_max = 2;
        srv.pending = 5;
        srv.pending_gap_usec = 10000;
        start_server();
        ck_assert_int_eq(uds_client_routine(&client, UDS_ROUTINE_START, 0x0A02, NULL, 0, NULL, NULL), -ETIMEDOUT);
}
END_TEST

START_TEST(test_silent_server_times_out) {
        uint8_t *data = NULL;
        uint64_t start, t;
        size_t len;

        client.p2_usec = 200000;
        srv.silent = true;
        start_server();
        start = uds_transport_now_usec();
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -ETIMEDOUT);
        t = elapsed_usec(start);
        ck_assert_uint_ge(t, 200000);
        ck_assert_uint_lt(t, 200000 + 150000);
        ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_malformed_answers) {
        static const uint8_t wrong_did[] = { 0x62, 0xF1, 0x8C, 'x' };
        static const uint8_t no_data[] = { 0x62, 0xF1, 0x90 };
        static const uint8_t wrong_sid[] = { 0x6E, 0xF1, 0x90 };
        static const uint8_t short_nrc[] = { 0x7F, 0x22 };
        static const uint8_t other_nrc[] = { 0x7F, 0x2E, 0x31 };
        static const uint8_t empty[] = { 0x00 };
        uint8_t *data = NULL;
        size_t len;

        start_server();
        srv.canned = wrong_did;
        srv.canned_len = sizeof(wrong_did);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EPROTO);
        srv.canned = no_data;
        srv.canned_len = sizeof(no_data);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EBADMSG);
        srv.canned = wrong_sid;
        srv.canned_len = sizeof(wrong_sid);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EPROTO);
        srv.canned = short_nrc;
        srv.canned_len = sizeof(short_nrc);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EBADMSG);
        srv.canned = other_nrc;
        srv.canned_len = sizeof(other_nrc);
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EPROTO);
        srv.canned = empty;
        srv.canned_len = 0;
        ck_assert_int_eq(uds_client_read_did(&client, 0xF190, &data, &len), -EBADMSG);
        ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_request_limits) {
        uint8_t big[200] = {}, *rsp;
        size_t len;

        client.max_request = 100;
        start_server();
        ck_assert_int_eq(uds_client_write_did(&client, 0xF1A4, big, 98), -EMSGSIZE);
        ck_assert_int_eq(uds_client_write_did(&client, 0xF1A4, big, 0), -EINVAL);
        ck_assert_int_eq(uds_client_routine(&client, 0x01, 0x0A01, big, 97, NULL, NULL), -EMSGSIZE);
        ck_assert_int_eq(uds_client_request(&client, big, 101, &rsp, &len), -EMSGSIZE);
        ck_assert_int_eq(uds_client_request(&client, big, 0, &rsp, &len), -EINVAL);
        ck_assert_int_eq(uds_client_send(&client, big, 101), -EMSGSIZE);
        ck_assert_uint_eq(srv.requests, 0);
}
END_TEST

static Suite *client_suite(void) {
        Suite *s = suite_create("vnet_uds_client");
        TCase *tc = tcase_create("client");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_download_1mib);
        tcase_add_test(tc, test_download_capped_by_transport);
        tcase_add_test(tc, test_download_small_blocks_wrap_twice);
        tcase_add_test(tc, test_download_lost_response);
        tcase_add_test(tc, test_download_late_response);
        tcase_add_test(tc, test_download_lost_too_often);
        tcase_add_test(tc, test_download_pending_not_repeated);
        tcase_add_test(tc, test_download_pending_then_silence_not_repeated);
        tcase_add_test(tc, test_download_rejected);
        tcase_add_test(tc, test_download_wrong_bsc_echo);
        tcase_add_test(tc, test_file_transfer);
        tcase_add_test(tc, test_services);
        tcase_add_test(tc, test_negative_response);
        tcase_add_test(tc, test_pending_extends_deadline);
        tcase_add_test(tc, test_pending_then_silence);
        tcase_add_test(tc, test_pending_limit);
        tcase_add_test(tc, test_silent_server_times_out);
        tcase_add_test(tc, test_malformed_answers);
        tcase_add_test(tc, test_request_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(client_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

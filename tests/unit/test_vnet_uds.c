/* SPDX-License-Identifier: MIT */
/* The UDS codec (src/vnet/uds.h): builders and parsers, negative responses,
 * the responsePending rule and the download's block counter machine. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "uds.h"

/* A message literal as the two arguments (bytes, length). */
#define M(...) (const uint8_t[]) { __VA_ARGS__ }, sizeof((const uint8_t[]) { __VA_ARGS__ })

#define ck_assert_bytes(buf, len, ...)                                                  \
        do {                                                                            \
                const uint8_t _want[] = { __VA_ARGS__ };                                \
                ck_assert_uint_eq((len), sizeof(_want));                                \
                ck_assert_mem_eq((buf), _want, sizeof(_want));                          \
        } while (0)

/* ---- NRCs, negative responses, the 0x78 rule ------------------------------------ */

START_TEST(test_nrc_names) {
        static const struct {
                uint8_t nrc;
                const char *name;
        } t[] = {
                { UDS_NRC_GENERAL_REJECT, "generalReject" },
                { UDS_NRC_SERVICE_NOT_SUPPORTED, "serviceNotSupported" },
                { UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED, "subFunctionNotSupported" },
                { UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT, "incorrectMessageLengthOrInvalidFormat" },
                { UDS_NRC_RESPONSE_TOO_LONG, "responseTooLong" },
                { UDS_NRC_BUSY_REPEAT_REQUEST, "busyRepeatRequest" },
                { UDS_NRC_CONDITIONS_NOT_CORRECT, "conditionsNotCorrect" },
                { UDS_NRC_REQUEST_SEQUENCE_ERROR, "requestSequenceError" },
                { UDS_NRC_NO_RESPONSE_FROM_SUBNET_COMPONENT, "noResponseFromSubnetComponent" },
                { UDS_NRC_FAILURE_PREVENTS_EXECUTION, "failurePreventsExecutionOfRequestedAction" },
                { UDS_NRC_REQUEST_OUT_OF_RANGE, "requestOutOfRange" },
                { UDS_NRC_SECURITY_ACCESS_DENIED, "securityAccessDenied" },
                { UDS_NRC_INVALID_KEY, "invalidKey" },
                { UDS_NRC_EXCEEDED_NUMBER_OF_ATTEMPTS, "exceededNumberOfAttempts" },
                { UDS_NRC_REQUIRED_TIME_DELAY_NOT_EXPIRED, "requiredTimeDelayNotExpired" },
                { UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED, "uploadDownloadNotAccepted" },
                { UDS_NRC_TRANSFER_DATA_SUSPENDED, "transferDataSuspended" },
                { UDS_NRC_GENERAL_PROGRAMMING_FAILURE, "generalProgrammingFailure" },
                { UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER, "wrongBlockSequenceCounter" },
                { UDS_NRC_RESPONSE_PENDING, "requestCorrectlyReceivedResponsePending" },
                { UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED_IN_ACTIVE_SESSION, "subFunctionNotSupportedInActiveSession" },
                { UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION, "serviceNotSupportedInActiveSession" },
        };

        /* The values are ISO 14229-1's. */
        ck_assert_uint_eq(UDS_NRC_REQUEST_OUT_OF_RANGE, 0x31);
        ck_assert_uint_eq(UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER, 0x73);
        ck_assert_uint_eq(UDS_NRC_RESPONSE_PENDING, 0x78);
        ck_assert_uint_eq(UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION, 0x7F);
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ck_assert_str_eq(uds_nrc_name(t[i].nrc), t[i].name);
        ck_assert_ptr_null(uds_nrc_name(0x00));
        ck_assert_ptr_null(uds_nrc_name(0x23));
        ck_assert_ptr_null(uds_nrc_name(0xFF));

        ck_assert_uint_eq(uds_nrc_from_parse_error(-EBADMSG), 0x13);
        ck_assert_uint_eq(uds_nrc_from_parse_error(-ERANGE), 0x31);
        ck_assert_uint_eq(uds_nrc_from_parse_error(-EOPNOTSUPP), 0x12);
        ck_assert_uint_eq(uds_nrc_from_parse_error(-EPROTO), 0x10);
}
END_TEST

START_TEST(test_negative_response) {
        uint8_t buf[8], sid = 0xAA, nrc = 0xAA;
        size_t len;

        ck_assert_int_eq(uds_build_negative_response(buf, sizeof(buf), 0x34, 0x70, &len), 0);
        ck_assert_bytes(buf, len, 0x7F, 0x34, 0x70);
        ck_assert_int_eq(uds_parse_negative_response(buf, len, &sid, &nrc), 0);
        ck_assert_uint_eq(sid, 0x34);
        ck_assert_uint_eq(nrc, 0x70);

        ck_assert_int_eq(uds_build_negative_response(buf, 2, 0x34, 0x70, &len), -ENOBUFS);
        ck_assert_int_eq(uds_build_negative_response(buf, sizeof(buf), 0x34, 0x00, &len), -EINVAL);

        sid = nrc = 0xAA;
        ck_assert_int_eq(uds_parse_negative_response(NULL, 0, &sid, &nrc), -EBADMSG);
        ck_assert_int_eq(uds_parse_negative_response(M(0x7F, 0x34), &sid, &nrc), -EBADMSG);
        ck_assert_int_eq(uds_parse_negative_response(M(0x7F, 0x34, 0x70, 0x00), &sid, &nrc), -EBADMSG);
        ck_assert_int_eq(uds_parse_negative_response(M(0x7F, 0x34, 0x00), &sid, &nrc), -EBADMSG);
        ck_assert_int_eq(uds_parse_negative_response(M(0x74, 0x20, 0x04, 0x02), &sid, &nrc), -EPROTO);
        ck_assert_uint_eq(sid, 0xAA);
        ck_assert_uint_eq(nrc, 0xAA);
}
END_TEST

START_TEST(test_classify_response) {
        uint8_t nrc = 0;

        ck_assert_int_eq(uds_classify_response(0x22, M(0x62, 0xF1, 0x90, 0x41), &nrc), UDS_RESPONSE_POSITIVE);
        ck_assert_int_eq(uds_classify_response(0x31, M(0x7F, 0x31, 0x78), &nrc), UDS_RESPONSE_PENDING);
        ck_assert_uint_eq(nrc, 0x78);
        ck_assert_int_eq(uds_classify_response(0x31, M(0x7F, 0x31, 0x22), &nrc), UDS_RESPONSE_NEGATIVE);
        ck_assert_uint_eq(nrc, 0x22);
        ck_assert_int_eq(uds_classify_response(0x31, M(0x7F, 0x31, 0x78), NULL), UDS_RESPONSE_PENDING);

        /* another service's answers */
        ck_assert_int_eq(uds_classify_response(0x22, M(0x7F, 0x2E, 0x78), &nrc), -EPROTO);
        ck_assert_int_eq(uds_classify_response(0x22, M(0x6E, 0xF1, 0x90), &nrc), -EPROTO);
        ck_assert_int_eq(uds_classify_response(0x22, M(0x22, 0xF1, 0x90), &nrc), -EPROTO);
        /* malformed */
        ck_assert_int_eq(uds_classify_response(0x22, NULL, 0, &nrc), -EBADMSG);
        ck_assert_int_eq(uds_classify_response(0x22, M(0x7F, 0x22), &nrc), -EBADMSG);
        ck_assert_int_eq(uds_classify_response(0x22, M(0x7F, 0x22, 0x78, 0x00), &nrc), -EBADMSG);
        ck_assert_int_eq(uds_classify_response(0x22, M(0x7F, 0x22, 0x00), &nrc), -EBADMSG);
        ck_assert_uint_eq(nrc, 0x22);
}
END_TEST

/* ---- 0x10, 0x11, 0x3E --------------------------------------------------------------- */

START_TEST(test_session_control) {
        UdsSessionTiming t = { .p2_ms = 50, .p2_star_ms = 5000 }, got = { 1, 1 };
        uint8_t buf[8], session = 0;
        bool suppress = true;
        size_t len;

        ck_assert_int_eq(uds_build_session_control_request(buf, sizeof(buf), UDS_SESSION_PROGRAMMING, false, &len), 0);
        ck_assert_bytes(buf, len, 0x10, 0x02);
        ck_assert_int_eq(uds_parse_session_control_request(buf, len, &session, &suppress), 0);
        ck_assert_uint_eq(session, 0x02);
        ck_assert(!suppress);
        ck_assert_int_eq(uds_build_session_control_request(buf, sizeof(buf), 0x03, true, &len), 0);
        ck_assert_bytes(buf, len, 0x10, 0x83);
        ck_assert_int_eq(uds_parse_session_control_request(buf, len, &session, &suppress), 0);
        ck_assert_uint_eq(session, 0x03);
        ck_assert(suppress);

        ck_assert_int_eq(uds_build_session_control_request(buf, sizeof(buf), 0x00, false, &len), -EINVAL);
        ck_assert_int_eq(uds_build_session_control_request(buf, sizeof(buf), 0x83, false, &len), -EINVAL);
        ck_assert_int_eq(uds_build_session_control_request(buf, 1, 0x03, false, &len), -ENOBUFS);
        ck_assert_int_eq(uds_parse_session_control_request(M(0x10), &session, &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_request(M(0x10, 0x03, 0x00), &session, &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_request(M(0x11, 0x03), &session, &suppress), -EPROTO);
        ck_assert_int_eq(uds_parse_session_control_request(M(0x10, 0x00), &session, &suppress), -EOPNOTSUPP);
        ck_assert_int_eq(uds_parse_session_control_request(M(0x10, 0x80), &session, &suppress), -EOPNOTSUPP);

        ck_assert_int_eq(uds_build_session_control_response(buf, sizeof(buf), 0x02, &t, &len), 0);
        ck_assert_bytes(buf, len, 0x50, 0x02, 0x00, 0x32, 0x01, 0xF4);
        ck_assert_int_eq(uds_parse_session_control_response(buf, len, 0x02, &got), 0);
        ck_assert_uint_eq(got.p2_ms, 50);
        ck_assert_uint_eq(got.p2_star_ms, 5000);

        t.p2_star_ms = 5009;    /* 10 ms resolution */
        ck_assert_int_eq(uds_build_session_control_response(buf, sizeof(buf), 0x02, &t, &len), 0);
        ck_assert_int_eq(uds_parse_session_control_response(buf, len, 0x02, &got), 0);
        ck_assert_uint_eq(got.p2_star_ms, 5000);
        t.p2_star_ms = 655350;
        ck_assert_int_eq(uds_build_session_control_response(buf, sizeof(buf), 0x02, &t, &len), 0);
        t.p2_star_ms = 655360;
        ck_assert_int_eq(uds_build_session_control_response(buf, sizeof(buf), 0x02, &t, &len), -ERANGE);
        ck_assert_int_eq(uds_build_session_control_response(buf, 5, 0x02, &got, &len), -ENOBUFS);

        got = (UdsSessionTiming) { 1, 1 };
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50, 0x02, 0x00, 0x32, 0x01), 0x02, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50, 0x02, 0x00, 0x32, 0x01, 0xF4, 0x00), 0x02, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50, 0x03, 0x00, 0x32, 0x01, 0xF4), 0x02, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x51, 0x02, 0x00, 0x32, 0x01, 0xF4), 0x02, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50), 0x02, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50, 0x82, 0x00, 0x32, 0x01, 0xF4), 0x82, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x50, 0x00, 0x00, 0x32, 0x01, 0xF4), 0x00, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x7F, 0x10, 0x22), 0x02, &got), -EREMOTEIO);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x7F, 0x10, 0x78), 0x02, &got), -EREMOTEIO);
        ck_assert_int_eq(uds_parse_session_control_response(M(0x7F, 0x11, 0x22), 0x02, &got), -EPROTO);
        ck_assert_uint_eq(got.p2_ms, 1);
        ck_assert_uint_eq(got.p2_star_ms, 1);
}
END_TEST

START_TEST(test_ecu_reset) {
        uint8_t buf[4], type = 0, pdt = 0xAA;
        bool suppress = true;
        size_t len;

        ck_assert_int_eq(uds_build_ecu_reset_request(buf, sizeof(buf), UDS_RESET_HARD, false, &len), 0);
        ck_assert_bytes(buf, len, 0x11, 0x01);
        ck_assert_int_eq(uds_parse_ecu_reset_request(buf, len, &type, &suppress), 0);
        ck_assert_uint_eq(type, 0x01);
        ck_assert(!suppress);
        ck_assert_int_eq(uds_build_ecu_reset_request(buf, sizeof(buf), UDS_RESET_SOFT, true, &len), 0);
        ck_assert_bytes(buf, len, 0x11, 0x83);
        ck_assert_int_eq(uds_build_ecu_reset_request(buf, sizeof(buf), 0x00, false, &len), -EINVAL);
        ck_assert_int_eq(uds_parse_ecu_reset_request(M(0x11), &type, &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_request(M(0x11, 0x01, 0x01), &type, &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_request(M(0x10, 0x01), &type, &suppress), -EPROTO);
        ck_assert_int_eq(uds_parse_ecu_reset_request(M(0x11, 0x00), &type, &suppress), -EOPNOTSUPP);

        ck_assert_int_eq(uds_build_ecu_reset_response(buf, sizeof(buf), 0x01, -1, &len), 0);
        ck_assert_bytes(buf, len, 0x51, 0x01);
        ck_assert_int_eq(uds_parse_ecu_reset_response(buf, len, 0x01, &pdt), 0);
        ck_assert_uint_eq(pdt, 0xAA);
        ck_assert_int_eq(uds_build_ecu_reset_response(buf, sizeof(buf), 0x04, 10, &len), 0);
        ck_assert_bytes(buf, len, 0x51, 0x04, 0x0A);
        ck_assert_int_eq(uds_parse_ecu_reset_response(buf, len, 0x04, &pdt), 1);
        ck_assert_uint_eq(pdt, 10);
        ck_assert_int_eq(uds_build_ecu_reset_response(buf, sizeof(buf), 0x01, 10, &len), -EINVAL);
        ck_assert_int_eq(uds_build_ecu_reset_response(buf, sizeof(buf), 0x04, -1, &len), -EINVAL);
        ck_assert_int_eq(uds_build_ecu_reset_response(buf, sizeof(buf), 0x04, 256, &len), -EINVAL);
        ck_assert_int_eq(uds_build_ecu_reset_response(buf, 2, 0x04, 1, &len), -ENOBUFS);

        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51), 0x01, &pdt), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51, 0x01, 0x00), 0x01, &pdt), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51, 0x04), 0x04, &pdt), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51, 0x03), 0x01, &pdt), -EPROTO);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51, 0x81), 0x81, &pdt), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x51, 0x00), 0x00, &pdt), -EBADMSG);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x50, 0x01), 0x01, &pdt), -EPROTO);
        ck_assert_int_eq(uds_parse_ecu_reset_response(M(0x7F, 0x11, 0x22), 0x01, &pdt), -EREMOTEIO);
        ck_assert_uint_eq(pdt, 10);
}
END_TEST

START_TEST(test_tester_present) {
        uint8_t buf[4];
        bool suppress = true;
        size_t len;

        ck_assert_int_eq(uds_build_tester_present(buf, sizeof(buf), false, &len), 0);
        ck_assert_bytes(buf, len, 0x3E, 0x00);
        ck_assert_int_eq(uds_parse_tester_present(buf, len, &suppress), 0);
        ck_assert(!suppress);
        ck_assert_int_eq(uds_build_tester_present(buf, sizeof(buf), true, &len), 0);
        ck_assert_bytes(buf, len, 0x3E, 0x80);
        ck_assert_int_eq(uds_parse_tester_present(buf, len, &suppress), 0);
        ck_assert(suppress);
        ck_assert_int_eq(uds_build_tester_present(buf, 1, true, &len), -ENOBUFS);

        ck_assert_int_eq(uds_parse_tester_present(M(0x3E), &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_tester_present(M(0x3E, 0x00, 0x00), &suppress), -EBADMSG);
        ck_assert_int_eq(uds_parse_tester_present(M(0x3E, 0x01), &suppress), -EOPNOTSUPP);
        ck_assert_int_eq(uds_parse_tester_present(M(0x3F, 0x00), &suppress), -EPROTO);

        ck_assert_int_eq(uds_build_tester_present_response(buf, sizeof(buf), &len), 0);
        ck_assert_bytes(buf, len, 0x7E, 0x00);
        ck_assert_int_eq(uds_parse_tester_present_response(buf, len), 0);
        ck_assert_int_eq(uds_parse_tester_present_response(M(0x7E)), -EBADMSG);
        ck_assert_int_eq(uds_parse_tester_present_response(M(0x7E, 0x00, 0x00)), -EBADMSG);
        ck_assert_int_eq(uds_parse_tester_present_response(M(0x7E, 0x80)), -EPROTO);
        ck_assert_int_eq(uds_parse_tester_present_response(M(0x7F, 0x3E, 0x12)), -EREMOTEIO);
        ck_assert_int_eq(uds_parse_tester_present_response(M(0x50, 0x00)), -EPROTO);
}
END_TEST

/* ---- 0x22, 0x2E ------------------------------------------------------------------------ */

START_TEST(test_read_did) {
        static const uint8_t vin[] = "W0L000043MB541326";
        const uint8_t *data = NULL;
        uint8_t buf[32];
        uint16_t did = 0;
        size_t len, data_len = 0;

        ck_assert_int_eq(uds_build_read_did_request(buf, sizeof(buf), 0xF190, &len), 0);
        ck_assert_bytes(buf, len, 0x22, 0xF1, 0x90);
        ck_assert_int_eq(uds_parse_read_did_request(buf, len, &did), 0);
        ck_assert_uint_eq(did, 0xF190);
        ck_assert_int_eq(uds_build_read_did_request(buf, 2, 0xF190, &len), -ENOBUFS);
        ck_assert_int_eq(uds_parse_read_did_request(M(0x22, 0xF1), &did), -EBADMSG);
        ck_assert_int_eq(uds_parse_read_did_request(M(0x22, 0xF1, 0x90, 0x00), &did), -EBADMSG);
        ck_assert_int_eq(uds_parse_read_did_request(M(0x22, 0xF1, 0x90, 0xF1, 0x8C), &did), -ERANGE);
        ck_assert_int_eq(uds_parse_read_did_request(M(0x2E, 0xF1, 0x90), &did), -EPROTO);

        ck_assert_int_eq(uds_build_read_did_response(buf, sizeof(buf), 0xF190, vin, 17, &len), 0);
        ck_assert_uint_eq(len, 20);
        ck_assert_bytes(buf, 3, 0x62, 0xF1, 0x90);
        ck_assert_int_eq(uds_parse_read_did_response(buf, len, 0xF190, &data, &data_len), 0);
        ck_assert_uint_eq(data_len, 17);
        ck_assert_mem_eq(data, vin, 17);
        ck_assert_ptr_eq(data, buf + 3);
        ck_assert_int_eq(uds_build_read_did_response(buf, 19, 0xF190, vin, 17, &len), -ENOBUFS);
        ck_assert_int_eq(uds_build_read_did_response(buf, sizeof(buf), 0xF190, vin, 0, &len), -EINVAL);

        data = NULL;
        data_len = 99;
        ck_assert_int_eq(uds_parse_read_did_response(M(0x62, 0xF1, 0x90), 0xF190, &data, &data_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_read_did_response(M(0x62, 0xF1), 0xF190, &data, &data_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_read_did_response(M(0x62, 0xF1, 0x8C, 0x41), 0xF190, &data, &data_len), -EPROTO);
        ck_assert_int_eq(uds_parse_read_did_response(M(0x6E, 0xF1, 0x90, 0x41), 0xF190, &data, &data_len), -EPROTO);
        ck_assert_int_eq(uds_parse_read_did_response(M(0x7F, 0x22, 0x31), 0xF190, &data, &data_len), -EREMOTEIO);
        ck_assert_ptr_null(data);
        ck_assert_uint_eq(data_len, 99);
}
END_TEST

START_TEST(test_write_did) {
        static const uint8_t att[] = { '{', '}' };
        const uint8_t *data = NULL;
        uint8_t buf[16];
        uint16_t did = 0;
        size_t len, data_len = 0;

        ck_assert_int_eq(uds_build_write_did_request(buf, sizeof(buf), 0xF1A4, att, sizeof(att), &len), 0);
        ck_assert_bytes(buf, len, 0x2E, 0xF1, 0xA4, '{', '}');
        ck_assert_int_eq(uds_parse_write_did_request(buf, len, &did, &data, &data_len), 0);
        ck_assert_uint_eq(did, 0xF1A4);
        ck_assert_uint_eq(data_len, 2);
        ck_assert_mem_eq(data, att, 2);
        ck_assert_int_eq(uds_build_write_did_request(buf, 4, 0xF1A4, att, sizeof(att), &len), -ENOBUFS);
        ck_assert_int_eq(uds_build_write_did_request(buf, sizeof(buf), 0xF1A4, NULL, 0, &len), -EINVAL);
        ck_assert_int_eq(uds_parse_write_did_request(M(0x2E, 0xF1, 0xA4), &did, &data, &data_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_write_did_request(M(0x22, 0xF1, 0xA4, 0x00), &did, &data, &data_len), -EPROTO);

        ck_assert_int_eq(uds_build_write_did_response(buf, sizeof(buf), 0xF1A4, &len), 0);
        ck_assert_bytes(buf, len, 0x6E, 0xF1, 0xA4);
        ck_assert_int_eq(uds_parse_write_did_response(buf, len, 0xF1A4), 0);
        ck_assert_int_eq(uds_parse_write_did_response(M(0x6E, 0xF1), 0xF1A4), -EBADMSG);
        ck_assert_int_eq(uds_parse_write_did_response(M(0x6E, 0xF1, 0xA4, 0x00), 0xF1A4), -EBADMSG);
        ck_assert_int_eq(uds_parse_write_did_response(M(0x6E, 0xF1, 0xA5), 0xF1A4), -EPROTO);
        ck_assert_int_eq(uds_parse_write_did_response(M(0x62, 0xF1, 0xA4), 0xF1A4), -EPROTO);
        ck_assert_int_eq(uds_parse_write_did_response(M(0x7F, 0x2E, 0x33), 0xF1A4), -EREMOTEIO);
}
END_TEST

/* ---- 0x31 ------------------------------------------------------------------------------ */

START_TEST(test_routine) {
        static const uint8_t opt[] = { 0x44, 0x08, 0x00, 0x00, 0x00 };
        UdsRoutine rt = { .type = UDS_ROUTINE_START, .rid = 0xFF00, .record = opt, .record_len = sizeof(opt) };
        UdsRoutine got = {};
        uint8_t buf[16];
        size_t len;

        ck_assert_int_eq(uds_build_routine_request(buf, sizeof(buf), &rt, &len), 0);
        ck_assert_bytes(buf, len, 0x31, 0x01, 0xFF, 0x00, 0x44, 0x08, 0x00, 0x00, 0x00);
        ck_assert_int_eq(uds_parse_routine_request(buf, len, &got), 0);
        ck_assert_uint_eq(got.type, 0x01);
        ck_assert(!got.suppress);
        ck_assert_uint_eq(got.rid, 0xFF00);
        ck_assert_uint_eq(got.record_len, sizeof(opt));
        ck_assert_mem_eq(got.record, opt, sizeof(opt));

        rt = (UdsRoutine) { .type = UDS_ROUTINE_RESULTS, .suppress = true, .rid = 0x0A02 };
        ck_assert_int_eq(uds_build_routine_request(buf, sizeof(buf), &rt, &len), 0);
        ck_assert_bytes(buf, len, 0x31, 0x83, 0x0A, 0x02);
        ck_assert_int_eq(uds_parse_routine_request(buf, len, &got), 0);
        ck_assert_uint_eq(got.type, 0x03);
        ck_assert(got.suppress);
        ck_assert_ptr_null(got.record);
        ck_assert_uint_eq(got.record_len, 0);

        rt.type = 0x04;
        ck_assert_int_eq(uds_build_routine_request(buf, sizeof(buf), &rt, &len), -EINVAL);
        rt.type = 0x01;
        ck_assert_int_eq(uds_build_routine_request(buf, 3, &rt, &len), -ENOBUFS);
        ck_assert_int_eq(uds_parse_routine_request(M(0x31, 0x01, 0xFF), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_routine_request(M(0x31, 0x00, 0xFF, 0x00), &got), -EOPNOTSUPP);
        ck_assert_int_eq(uds_parse_routine_request(M(0x31, 0x04, 0xFF, 0x00), &got), -EOPNOTSUPP);
        ck_assert_int_eq(uds_parse_routine_request(M(0x32, 0x01, 0xFF, 0x00), &got), -EPROTO);

        rt = (UdsRoutine) { .type = 0x01, .rid = 0x0A01, .record = (const uint8_t[]) { 0x00 }, .record_len = 1 };
        ck_assert_int_eq(uds_build_routine_response(buf, sizeof(buf), &rt, &len), 0);
        ck_assert_bytes(buf, len, 0x71, 0x01, 0x0A, 0x01, 0x00);
        got = (UdsRoutine) {};
        ck_assert_int_eq(uds_parse_routine_response(buf, len, 0x01, 0x0A01, &got), 0);
        ck_assert_uint_eq(got.rid, 0x0A01);
        ck_assert_uint_eq(got.record_len, 1);
        ck_assert_uint_eq(got.record[0], 0x00);
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x01, 0x0A, 0x01), 0x01, 0x0A01, &got), 0);
        ck_assert_uint_eq(got.record_len, 0);

        got.rid = 0x1234;
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x01, 0x0A), 0x01, 0x0A01, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x03, 0x0A, 0x01), 0x01, 0x0A01, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x81, 0x0A, 0x01), 0x81, 0x0A01, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x04, 0x0A, 0x01), 0x04, 0x0A01, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_routine_response(M(0x71, 0x01, 0x0A, 0x02), 0x01, 0x0A01, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_routine_response(M(0x7F, 0x31, 0x24), 0x01, 0x0A01, &got), -EREMOTEIO);
        ck_assert_uint_eq(got.rid, 0x1234);
}
END_TEST

/* ---- 0x34 ------------------------------------------------------------------------------ */

START_TEST(test_request_download) {
        UdsDownloadRequest req = { .dfi = 0x00, .address = 0x08000000, .address_len = 4, .size = 0x800, .size_len = 4 };
        UdsDownloadRequest got = {};
        uint64_t mbl = 0;
        uint8_t buf[32];
        size_t len;

        ck_assert_int_eq(uds_build_request_download(buf, sizeof(buf), &req, &len), 0);
        ck_assert_bytes(buf, len, 0x34, 0x00, 0x44, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00);
        ck_assert_int_eq(uds_parse_request_download(buf, len, &got), 0);
        ck_assert_uint_eq(got.dfi, 0x00);
        ck_assert_uint_eq(got.address, 0x08000000);
        ck_assert_uint_eq(got.address_len, 4);
        ck_assert_uint_eq(got.size, 0x800);
        ck_assert_uint_eq(got.size_len, 4);

        req = (UdsDownloadRequest) { .dfi = 0x11, .address = UINT64_MAX, .address_len = 8, .size = 1, .size_len = 1 };
        ck_assert_int_eq(uds_build_request_download(buf, sizeof(buf), &req, &len), 0);
        ck_assert_uint_eq(len, 3 + 8 + 1);
        ck_assert_uint_eq(buf[2], 0x18);
        ck_assert_int_eq(uds_parse_request_download(buf, len, &got), 0);
        ck_assert_uint_eq(got.address, UINT64_MAX);
        ck_assert_uint_eq(got.dfi, 0x11);
        ck_assert_int_eq(uds_build_request_download(buf, len - 1, &req, &len), -ENOBUFS);

        req = (UdsDownloadRequest) { .address = 0x100, .address_len = 1, .size = 1, .size_len = 1 };
        ck_assert_int_eq(uds_build_request_download(buf, sizeof(buf), &req, &len), -ERANGE);
        req = (UdsDownloadRequest) { .address = 0, .address_len = 0, .size = 1, .size_len = 1 };
        ck_assert_int_eq(uds_build_request_download(buf, sizeof(buf), &req, &len), -ERANGE);
        req = (UdsDownloadRequest) { .address = 0, .address_len = 1, .size = 1, .size_len = 9 };
        ck_assert_int_eq(uds_build_request_download(buf, sizeof(buf), &req, &len), -ERANGE);

        got.size = 42;
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00, 0x11, 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00, 0x11, 0x00, 0x01, 0x02), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00, 0x10, 0x01), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00, 0x01, 0x01), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_request_download(M(0x34, 0x00, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_request_download(M(0x35, 0x00, 0x11, 0x00, 0x01), &got), -EPROTO);
        ck_assert_uint_eq(got.size, 42);

        ck_assert_int_eq(uds_build_request_download_response(buf, sizeof(buf), 0x402, 0, &len), 0);
        ck_assert_bytes(buf, len, 0x74, 0x20, 0x04, 0x02);
        ck_assert_int_eq(uds_parse_request_download_response(buf, len, &mbl), 0);
        ck_assert_uint_eq(mbl, 0x402);
        ck_assert_int_eq(uds_build_request_download_response(buf, sizeof(buf), 0x402, 4, &len), 0);
        ck_assert_bytes(buf, len, 0x74, 0x40, 0x00, 0x00, 0x04, 0x02);
        ck_assert_int_eq(uds_parse_request_download_response(buf, len, &mbl), 0);
        ck_assert_uint_eq(mbl, 0x402);
        ck_assert_int_eq(uds_build_request_download_response(buf, sizeof(buf), 0x402, 1, &len), -ERANGE);
        ck_assert_int_eq(uds_build_request_download_response(buf, sizeof(buf), 0x402, 9, &len), -ERANGE);
        ck_assert_int_eq(uds_build_request_download_response(buf, sizeof(buf), 2, 0, &len), -EINVAL);
        ck_assert_int_eq(uds_build_request_download_response(buf, 3, 0x402, 0, &len), -ENOBUFS);

        mbl = 7;
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x20, 0x04), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x20, 0x04, 0x02, 0x00), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x21, 0x04, 0x02), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x00, 0x04, 0x02), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x10, 0x02), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74, 0x90, 0, 0, 0, 0, 0, 0, 0, 4, 2), &mbl), -ERANGE);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x74), &mbl), -EBADMSG);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x75, 0x20, 0x04, 0x02), &mbl), -EPROTO);
        ck_assert_int_eq(uds_parse_request_download_response(M(0x7F, 0x34, 0x70), &mbl), -EREMOTEIO);
        ck_assert_uint_eq(mbl, 7);
}
END_TEST

/* ---- 0x36, 0x37 ------------------------------------------------------------------------- */

START_TEST(test_transfer_data) {
        static const uint8_t block[] = { 0xDE, 0xAD, 0xBE, 0xEF };
        const uint8_t *data = NULL;
        uint8_t buf[16], bsc = 0;
        size_t len, data_len = 0;

        ck_assert_int_eq(uds_build_transfer_data(buf, sizeof(buf), 0xFF, block, sizeof(block), &len), 0);
        ck_assert_bytes(buf, len, 0x36, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF);
        ck_assert_int_eq(uds_parse_transfer_data(buf, len, &bsc, &data, &data_len), 0);
        ck_assert_uint_eq(bsc, 0xFF);
        ck_assert_uint_eq(data_len, 4);
        ck_assert_mem_eq(data, block, 4);

        /* the data already in place behind the header */
        memcpy(buf + 2, block, sizeof(block));
        ck_assert_int_eq(uds_build_transfer_data(buf, sizeof(buf), 0x00, buf + 2, sizeof(block), &len), 0);
        ck_assert_bytes(buf, len, 0x36, 0x00, 0xDE, 0xAD, 0xBE, 0xEF);
        ck_assert_int_eq(uds_build_transfer_data(buf, 5, 0x01, block, sizeof(block), &len), -ENOBUFS);
        ck_assert_int_eq(uds_build_transfer_data(buf, sizeof(buf), 0x01, NULL, 1, &len), -EINVAL);

        /* an upload request carries no data */
        ck_assert_int_eq(uds_build_transfer_data(buf, sizeof(buf), 0x01, NULL, 0, &len), 0);
        ck_assert_bytes(buf, len, 0x36, 0x01);
        ck_assert_int_eq(uds_parse_transfer_data(buf, len, &bsc, &data, &data_len), 0);
        ck_assert_uint_eq(data_len, 0);
        ck_assert_ptr_null(data);
        ck_assert_int_eq(uds_parse_transfer_data(M(0x36), &bsc, &data, &data_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_transfer_data(M(0x37, 0x01, 0x00), &bsc, &data, &data_len), -EPROTO);

        ck_assert_int_eq(uds_build_transfer_data_response(buf, sizeof(buf), 0x05, NULL, 0, &len), 0);
        ck_assert_bytes(buf, len, 0x76, 0x05);
        ck_assert_int_eq(uds_parse_transfer_data_response(buf, len, 0x05, &data, &data_len), 0);
        ck_assert_uint_eq(data_len, 0);
        ck_assert_int_eq(uds_build_transfer_data_response(buf, sizeof(buf), 0x05, block, 2, &len), 0);
        ck_assert_bytes(buf, len, 0x76, 0x05, 0xDE, 0xAD);
        ck_assert_int_eq(uds_parse_transfer_data_response(buf, len, 0x05, &data, &data_len), 0);
        ck_assert_uint_eq(data_len, 2);
        ck_assert_ptr_eq(data, buf + 2);

        data_len = 77;
        ck_assert_int_eq(uds_parse_transfer_data_response(M(0x76), 0x05, &data, &data_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_transfer_data_response(M(0x76, 0x04), 0x05, &data, &data_len), -EPROTO);
        ck_assert_int_eq(uds_parse_transfer_data_response(M(0x77, 0x05), 0x05, &data, &data_len), -EPROTO);
        ck_assert_int_eq(uds_parse_transfer_data_response(M(0x7F, 0x36, 0x73), 0x05, &data, &data_len), -EREMOTEIO);
        ck_assert_uint_eq(data_len, 77);
}
END_TEST

START_TEST(test_transfer_exit) {
        static const uint8_t crc[] = { 0x12, 0x34 };
        const uint8_t *rec = NULL;
        uint8_t buf[8];
        size_t len, rec_len = 9;

        ck_assert_int_eq(uds_build_transfer_exit(buf, sizeof(buf), NULL, 0, &len), 0);
        ck_assert_bytes(buf, len, 0x37);
        ck_assert_int_eq(uds_parse_transfer_exit(buf, len, &rec, &rec_len), 0);
        ck_assert_uint_eq(rec_len, 0);
        ck_assert_int_eq(uds_build_transfer_exit(buf, sizeof(buf), crc, 2, &len), 0);
        ck_assert_bytes(buf, len, 0x37, 0x12, 0x34);
        ck_assert_int_eq(uds_parse_transfer_exit(buf, len, &rec, &rec_len), 0);
        ck_assert_uint_eq(rec_len, 2);
        ck_assert_mem_eq(rec, crc, 2);
        ck_assert_int_eq(uds_build_transfer_exit(buf, 2, crc, 2, &len), -ENOBUFS);
        ck_assert_int_eq(uds_build_transfer_exit(buf, 0, NULL, 0, &len), -ENOBUFS);
        ck_assert_int_eq(uds_parse_transfer_exit(NULL, 0, &rec, &rec_len), -EBADMSG);
        ck_assert_int_eq(uds_parse_transfer_exit(M(0x36), &rec, &rec_len), -EPROTO);

        ck_assert_int_eq(uds_build_transfer_exit_response(buf, sizeof(buf), NULL, 0, &len), 0);
        ck_assert_bytes(buf, len, 0x77);
        ck_assert_int_eq(uds_parse_transfer_exit_response(buf, len, &rec, &rec_len), 0);
        ck_assert_uint_eq(rec_len, 0);
        ck_assert_int_eq(uds_build_transfer_exit_response(buf, sizeof(buf), crc, 2, &len), 0);
        ck_assert_bytes(buf, len, 0x77, 0x12, 0x34);
        ck_assert_int_eq(uds_parse_transfer_exit_response(buf, len, &rec, &rec_len), 0);
        ck_assert_uint_eq(rec_len, 2);
        ck_assert_int_eq(uds_parse_transfer_exit_response(M(0x76), &rec, &rec_len), -EPROTO);
        ck_assert_int_eq(uds_parse_transfer_exit_response(M(0x7F, 0x37, 0x24), &rec, &rec_len), -EREMOTEIO);
        ck_assert_int_eq(uds_parse_transfer_exit_response(NULL, 0, &rec, &rec_len), -EBADMSG);
        ck_assert_uint_eq(rec_len, 2);
}
END_TEST

/* ---- 0x38 ------------------------------------------------------------------------------ */

static void file_request_roundtrip(const UdsFileTransferRequest *req, size_t want_len) {
        UdsFileTransferRequest got;
        uint8_t buf[64];
        size_t len;

        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), req, &len), 0);
        ck_assert_uint_eq(len, want_len);
        ck_assert_int_eq(uds_parse_file_transfer_request(buf, len, &got), 0);
        ck_assert_uint_eq(got.mode, req->mode);
        ck_assert_uint_eq(got.path_len, req->path_len);
        ck_assert_mem_eq(got.path, req->path, req->path_len);
        ck_assert_uint_eq(got.dfi, req->dfi);
        ck_assert_uint_eq(got.size_len, req->size_len);
        ck_assert_uint_eq(got.size_uncompressed, req->size_uncompressed);
        ck_assert_uint_eq(got.size_compressed, req->size_compressed);
        ck_assert_int_eq(uds_build_file_transfer_request(buf, len - 1, req, &len), -ENOBUFS);
}

START_TEST(test_file_transfer_request) {
        UdsFileTransferRequest req = { .mode = UDS_FILE_REPLACE, .path = "target/fw.bin", .path_len = 13,
                                       .size_len = 4, .size_uncompressed = 0x100000, .size_compressed = 0x100000 };
        UdsFileTransferRequest got = { .mode = 0xEE };
        uint8_t buf[64];
        size_t len;

        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), 0);
        ck_assert_bytes(buf, 4, 0x38, 0x03, 0x00, 0x0D);
        ck_assert_mem_eq(buf + 4, "target/fw.bin", 13);
        ck_assert_bytes(buf + 17, len - 17, 0x00, 0x04, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00);
        file_request_roundtrip(&req, 27);
        req.mode = UDS_FILE_ADD;
        file_request_roundtrip(&req, 27);
        req.mode = UDS_FILE_RESUME;
        req.size_len = 1;
        req.size_uncompressed = req.size_compressed = 200;
        file_request_roundtrip(&req, 21);
        req = (UdsFileTransferRequest) { .mode = UDS_FILE_DELETE, .path = "a", .path_len = 1 };
        file_request_roundtrip(&req, 5);
        req = (UdsFileTransferRequest) { .mode = UDS_FILE_READ_DIR, .path = "dir", .path_len = 3 };
        file_request_roundtrip(&req, 7);
        req = (UdsFileTransferRequest) { .mode = UDS_FILE_READ, .path = "log", .path_len = 3, .dfi = 0x10 };
        file_request_roundtrip(&req, 8);

        /* builder checks */
        req = (UdsFileTransferRequest) { .mode = UDS_FILE_ADD, .path = "x", .path_len = 1, .size_len = 1,
                                         .size_uncompressed = 256, .size_compressed = 1 };
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -ERANGE);
        req.size_uncompressed = 1;
        req.size_len = 0;
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -ERANGE);
        req.size_len = 1;
        req.path_len = 0;
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -EINVAL);
        req.path = "a\0b";
        req.path_len = 3;
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -EINVAL);
        req.path_len = UDS_FILE_PATH_MAX + 1;
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -EINVAL);
        req.path_len = 1;
        req.mode = 0x07;
        ck_assert_int_eq(uds_build_file_transfer_request(buf, sizeof(buf), &req, &len), -EINVAL);

        /* malformed and unsupported requests */
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x02, 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x02, 0x00, 0x02, 'a'), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x02, 0x00, 0x01, 'a', 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x02, 0x00, 0x00), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x02, 0x00, 0x02, 'a', 0x00), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x00, 0x00, 0x01, 'a'), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x07, 0x00, 0x01, 'a'), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x04, 0x00, 0x01, 'a'), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x04, 0x00, 0x01, 'a', 0x00, 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x01, 0x00, 0x01, 'a', 0x00), &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x01, 0x00, 0x01, 'a', 0x00, 0x00), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x01, 0x00, 0x01, 'a', 0x00, 0x09), &got), -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x01, 0x00, 0x01, 'a', 0x00, 0x01, 0x05), &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x38, 0x01, 0x00, 0x01, 'a', 0x00, 0x01, 0x05, 0x05, 0x00),
                                                         &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_request(M(0x34, 0x01, 0x00, 0x01, 'a'), &got), -EPROTO);
        ck_assert_uint_eq(got.mode, 0xEE);

        /* the longest path */
        {
                uint8_t big[4 + UDS_FILE_PATH_MAX + 1];

                memset(big, 'p', sizeof(big));
                big[0] = 0x38;
                big[1] = UDS_FILE_DELETE;
                big[2] = UDS_FILE_PATH_MAX >> 8;
                big[3] = UDS_FILE_PATH_MAX & 0xFF;
                ck_assert_int_eq(uds_parse_file_transfer_request(big, 4 + UDS_FILE_PATH_MAX, &got), 0);
                ck_assert_uint_eq(got.path_len, UDS_FILE_PATH_MAX);
                big[3]++;
                ck_assert_int_eq(uds_parse_file_transfer_request(big, sizeof(big), &got), -ERANGE);
        }
}
END_TEST

START_TEST(test_file_transfer_response) {
        UdsFileTransferResponse rsp = { .mode = UDS_FILE_REPLACE, .max_block_len = 0x402, .dfi = 0x00 }, got;
        uint8_t buf[32];
        size_t len;

        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), 0);
        ck_assert_bytes(buf, len, 0x78, 0x03, 0x20, 0x04, 0x02, 0x00);
        ck_assert_int_eq(uds_parse_file_transfer_response(buf, len, UDS_FILE_REPLACE, &got), 0);
        ck_assert_uint_eq(got.max_block_len, 0x402);
        ck_assert_uint_eq(got.dfi, 0x00);

        rsp = (UdsFileTransferResponse) { .mode = UDS_FILE_DELETE };
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), 0);
        ck_assert_bytes(buf, len, 0x78, 0x02);
        ck_assert_int_eq(uds_parse_file_transfer_response(buf, len, UDS_FILE_DELETE, &got), 0);

        rsp = (UdsFileTransferResponse) { .mode = UDS_FILE_READ, .max_block_len = 0xFFF, .dfi = 0x00, .size_len = 2,
                                          .size_uncompressed = 0x1234, .size_compressed = 0x0456 };
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), 0);
        ck_assert_bytes(buf, len, 0x78, 0x04, 0x20, 0x0F, 0xFF, 0x00, 0x00, 0x02, 0x12, 0x34, 0x04, 0x56);
        ck_assert_int_eq(uds_parse_file_transfer_response(buf, len, UDS_FILE_READ, &got), 0);
        ck_assert_uint_eq(got.size_len, 2);
        ck_assert_uint_eq(got.size_uncompressed, 0x1234);
        ck_assert_uint_eq(got.size_compressed, 0x0456);

        rsp = (UdsFileTransferResponse) { .mode = UDS_FILE_READ_DIR, .max_block_len = 100, .size_len = 1,
                                          .size_uncompressed = 99 };
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), 0);
        ck_assert_bytes(buf, len, 0x78, 0x05, 0x10, 100, 0x00, 0x00, 0x01, 99);
        ck_assert_int_eq(uds_parse_file_transfer_response(buf, len, UDS_FILE_READ_DIR, &got), 0);
        ck_assert_uint_eq(got.size_uncompressed, 99);

        rsp = (UdsFileTransferResponse) { .mode = UDS_FILE_RESUME, .max_block_len = 100, .file_position = 0x10000 };
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), 0);
        ck_assert_bytes(buf, len, 0x78, 0x06, 0x10, 100, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00);
        ck_assert_int_eq(uds_parse_file_transfer_response(buf, len, UDS_FILE_RESUME, &got), 0);
        ck_assert_uint_eq(got.file_position, 0x10000);
        ck_assert_int_eq(uds_build_file_transfer_response(buf, len - 1, &rsp, &len), -ENOBUFS);

        rsp = (UdsFileTransferResponse) { .mode = UDS_FILE_READ, .max_block_len = 100, .size_len = 1,
                                          .size_uncompressed = 256 };
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), -ERANGE);
        rsp.max_block_len = 2;
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), -EINVAL);
        rsp.mode = 0;
        ck_assert_int_eq(uds_build_file_transfer_response(buf, sizeof(buf), &rsp, &len), -EINVAL);

        got.max_block_len = 1234;
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x03, 0x20, 0x04, 0x02), 3, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x03, 0x20, 0x04, 0x02, 0x00, 0x00), 3, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x01, 0x20, 0x04, 0x02, 0x00), 3, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x02, 0x00), 2, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78), 2, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x04, 0x10, 0x10, 0x00, 0x00, 0x00), 4, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x04, 0x10, 0x10, 0x00, 0x00, 0x09), 4, &got),
                         -ERANGE);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x04, 0x10, 0x10, 0x00, 0x00, 0x01, 0x05), 4, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x06, 0x10, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0), 6, &got),
                         -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x03, 0x10, 0x02, 0x00), 3, &got), -EBADMSG);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x7F, 0x38, 0x70), 3, &got), -EREMOTEIO);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x74, 0x20, 0x04, 0x02), 3, &got), -EPROTO);
        ck_assert_int_eq(uds_parse_file_transfer_response(M(0x78, 0x09), 9, &got), -EINVAL);
        ck_assert_uint_eq(got.max_block_len, 1234);
}
END_TEST

/* ---- the block sequence counter of a download ------------------------------------------- */

START_TEST(test_download_sequence_wraps) {
        UdsDownloadState s;
        uint8_t nrc = 0xAA;
        const size_t blocks = 600, block = 10;

        ck_assert_int_eq(uds_download_start(&s, blocks * block, block + 2), 0);
        for (size_t i = 1; i <= blocks; i++) {
                uint8_t bsc = (uint8_t) i;      /* 01..FF, 00, 01... */

                ck_assert_int_eq(uds_download_block(&s, bsc, block, &nrc), UDS_BLOCK_NEW);
                if (i == 255)
                        ck_assert_uint_eq(s.next_bsc, 0x00);
                if (i == 256)
                        ck_assert_uint_eq(s.next_bsc, 0x01);
        }
        ck_assert_uint_eq(nrc, 0xAA);
        ck_assert_uint_eq(s.received, blocks * block);
        ck_assert_int_eq(uds_download_finish(&s, &nrc), 0);
        ck_assert(!s.active);
        ck_assert_int_eq(uds_download_finish(&s, &nrc), -ESRCH);
        ck_assert_uint_eq(nrc, 0x24);
}
END_TEST

START_TEST(test_download_repeated_block) {
        UdsDownloadState s;
        uint8_t nrc = 0;

        ck_assert_int_eq(uds_download_start(&s, 1000, 102), 0);
        /* nothing to repeat yet: 00 is no repeat of anything */
        ck_assert_int_eq(uds_download_block(&s, 0x00, 100, &nrc), -EILSEQ);
        ck_assert_uint_eq(nrc, 0x73);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 100, &nrc), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 100, &nrc), UDS_BLOCK_REPEATED);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 100, &nrc), UDS_BLOCK_REPEATED);
        ck_assert_uint_eq(s.received, 100);
        /* a block with the previous counter and another length is no repeat */
        ck_assert_int_eq(uds_download_block(&s, 0x01, 99, &nrc), -EILSEQ);
        ck_assert_int_eq(uds_download_block(&s, 0x03, 100, &nrc), -EILSEQ);
        ck_assert_uint_eq(nrc, 0x73);
        ck_assert(s.active);
        ck_assert_int_eq(uds_download_block(&s, 0x02, 100, &nrc), UDS_BLOCK_NEW);
        ck_assert_uint_eq(s.received, 200);
}
END_TEST

START_TEST(test_download_repeat_across_wrap) {
        UdsDownloadState s;

        ck_assert_int_eq(uds_download_start(&s, 300, 3), 0);
        for (unsigned i = 1; i <= 255; i++)
                ck_assert_int_eq(uds_download_block(&s, (uint8_t) i, 1, NULL), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0xFF, 1, NULL), UDS_BLOCK_REPEATED);
        ck_assert_int_eq(uds_download_block(&s, 0x00, 1, NULL), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x00, 1, NULL), UDS_BLOCK_REPEATED);
        ck_assert_int_eq(uds_download_block(&s, 0xFF, 1, NULL), -EILSEQ);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 1, NULL), UDS_BLOCK_NEW);
        ck_assert_uint_eq(s.received, 257);
}
END_TEST

START_TEST(test_download_limits) {
        UdsDownloadState s;
        uint8_t nrc = 0;

        ck_assert_int_eq(uds_download_start(&s, 100, 2), -EINVAL);
        ck_assert_int_eq(uds_download_start(NULL, 100, 10), -EINVAL);

        s = (UdsDownloadState) {};
        ck_assert_int_eq(uds_download_block(&s, 0x01, 1, &nrc), -ESRCH);
        ck_assert_uint_eq(nrc, 0x24);
        ck_assert_int_eq(uds_download_block(NULL, 0x01, 1, &nrc), -ESRCH);

        ck_assert_int_eq(uds_download_start(&s, 25, 12), 0);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 0, &nrc), -EBADMSG);
        ck_assert_uint_eq(nrc, 0x13);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 11, &nrc), -EMSGSIZE);
        ck_assert_uint_eq(nrc, 0x31);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 10, &nrc), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x02, 10, &nrc), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_finish(&s, &nrc), -EINPROGRESS);
        ck_assert_uint_eq(nrc, 0x24);
        ck_assert(s.active);
        /* 6 more bytes than announced: the download is suspended */
        ck_assert_int_eq(uds_download_block(&s, 0x03, 10, &nrc), -EFBIG);
        ck_assert_uint_eq(nrc, 0x71);
        ck_assert(!s.active);
        ck_assert_int_eq(uds_download_block(&s, 0x03, 5, &nrc), -ESRCH);

        /* an exact fit, and a repeat of the last block after all arrived */
        ck_assert_int_eq(uds_download_start(&s, 25, 12), 0);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 10, NULL), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x02, 10, NULL), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x03, 5, NULL), UDS_BLOCK_NEW);
        ck_assert_int_eq(uds_download_block(&s, 0x03, 5, NULL), UDS_BLOCK_REPEATED);
        ck_assert_int_eq(uds_download_block(&s, 0x04, 1, &nrc), -EFBIG);
        ck_assert_int_eq(uds_download_finish(&s, &nrc), -ESRCH);

        ck_assert_int_eq(uds_download_start(&s, 0, 12), 0);
        ck_assert_int_eq(uds_download_finish(&s, &nrc), 0);
        ck_assert_int_eq(uds_download_start(&s, 10, 12), 0);
        uds_download_abort(&s);
        ck_assert_int_eq(uds_download_block(&s, 0x01, 1, &nrc), -ESRCH);
}
END_TEST

static Suite *uds_suite(void) {
        Suite *s = suite_create("vnet_uds");
        TCase *codec = tcase_create("codec"), *dl = tcase_create("download");

        tcase_add_test(codec, test_nrc_names);
        tcase_add_test(codec, test_negative_response);
        tcase_add_test(codec, test_classify_response);
        tcase_add_test(codec, test_session_control);
        tcase_add_test(codec, test_ecu_reset);
        tcase_add_test(codec, test_tester_present);
        tcase_add_test(codec, test_read_did);
        tcase_add_test(codec, test_write_did);
        tcase_add_test(codec, test_routine);
        tcase_add_test(codec, test_request_download);
        tcase_add_test(codec, test_transfer_data);
        tcase_add_test(codec, test_transfer_exit);
        tcase_add_test(codec, test_file_transfer_request);
        tcase_add_test(codec, test_file_transfer_response);
        suite_add_tcase(s, codec);

        tcase_add_test(dl, test_download_sequence_wraps);
        tcase_add_test(dl, test_download_repeated_block);
        tcase_add_test(dl, test_download_repeat_across_wrap);
        tcase_add_test(dl, test_download_limits);
        suite_add_tcase(s, dl);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(uds_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

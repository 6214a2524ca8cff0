/* SPDX-License-Identifier: MIT */
/*
 * UDS codec, part 1: negative responses and the responsePending rule, NRC
 * names, and the small services (0x10, 0x11, 0x22, 0x2E, 0x31, 0x3E).
 * The transfer services are in uds_transfer.c.
 */

#include "uds.h"
#include "uds_util.h"

static const struct {
        uint8_t nrc;
        const char *name;
} nrc_names[] = {
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

const char *uds_nrc_name(uint8_t nrc) {
        for (size_t i = 0; i < ELEMENTSOF(nrc_names); i++)
                if (nrc_names[i].nrc == nrc)
                        return nrc_names[i].name;
        return NULL;
}

uint8_t uds_nrc_from_parse_error(int r) {
        switch (r) {
        case -EBADMSG:
                return UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT;
        case -ERANGE:
                return UDS_NRC_REQUEST_OUT_OF_RANGE;
        case -EOPNOTSUPP:
                return UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED;
        default:
                return UDS_NRC_GENERAL_REJECT;
        }
}

/* ---- responses in general ---------------------------------------------------- */

int uds_build_negative_response(uint8_t *buf, size_t size, uint8_t sid, uint8_t nrc, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (nrc == 0x00)
                return -EINVAL;
        uds_put_u8(&w, UDS_SID_NEGATIVE_RESPONSE);
        uds_put_u8(&w, sid);
        uds_put_u8(&w, nrc);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_negative_response(const uint8_t *msg, size_t len, uint8_t *ret_sid, uint8_t *ret_nrc) {
        if (!msg || len == 0)
                return -EBADMSG;
        if (msg[0] != UDS_SID_NEGATIVE_RESPONSE)
                return -EPROTO;
        if (len != 3 || msg[2] == 0x00)
                return -EBADMSG;
        if (ret_sid)
                *ret_sid = msg[1];
        if (ret_nrc)
                *ret_nrc = msg[2];
        return 0;
}

int uds_classify_response(uint8_t sid, const uint8_t *msg, size_t len, uint8_t *ret_nrc) {
        uint8_t nsid, nrc;
        int r;

        if (!msg || len == 0)
                return -EBADMSG;
        if (msg[0] != UDS_SID_NEGATIVE_RESPONSE)
                return msg[0] == (uint8_t) (sid + UDS_POSITIVE_RESPONSE_OFFSET) ? UDS_RESPONSE_POSITIVE : -EPROTO;

        r = uds_parse_negative_response(msg, len, &nsid, &nrc);
        if (r < 0)
                return r;
        if (nsid != sid)
                return -EPROTO;
        if (ret_nrc)
                *ret_nrc = nrc;
        return nrc == UDS_NRC_RESPONSE_PENDING ? UDS_RESPONSE_PENDING : UDS_RESPONSE_NEGATIVE;
}

int uds_check_request(uint8_t sid, const uint8_t *msg, size_t len, size_t min_len) {
        if (!msg || len == 0)
                return -EBADMSG;
        if (msg[0] != sid)
                return -EPROTO;
        return len < min_len ? -EBADMSG : 0;
}

int uds_check_response(uint8_t sid, const uint8_t *msg, size_t len, size_t min_len) {
        int r = uds_classify_response(sid, msg, len, NULL);

        if (r < 0)
                return r;
        if (r != UDS_RESPONSE_POSITIVE)
                return -EREMOTEIO;
        return len < min_len ? -EBADMSG : 0;
}

/* The sub-function a positive response echoes: never 0x00, never with the
 * suppressPosRspMsgIndicationBit. */
static bool subfunction_echo_valid(uint8_t sub) {
        return sub != 0x00 && !(sub & UDS_SUPPRESS_POSITIVE_RESPONSE);
}

/* ---- requests with a sub-function byte ----------------------------------------- */

static int build_subfunction(uint8_t *buf, size_t size, uint8_t sid, uint8_t sub, bool suppress, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        uds_put_u8(&w, sid);
        uds_put_u8(&w, (uint8_t) (sub | (suppress ? UDS_SUPPRESS_POSITIVE_RESPONSE : 0)));
        return uds_writer_finish(&w, ret_len);
}

/* SID sub, exactly two bytes; a sub-function 0x00 is not supported. */
static int parse_subfunction(uint8_t sid, const uint8_t *msg, size_t len, uint8_t *ret_sub, bool *ret_suppress) {
        uint8_t sub;
        int r;

        r = uds_check_request(sid, msg, len, 2);
        if (r < 0)
                return r;
        if (len != 2)
                return -EBADMSG;
        sub = msg[1] & (uint8_t) ~UDS_SUPPRESS_POSITIVE_RESPONSE;
        if (sub == 0x00)
                return -EOPNOTSUPP;
        if (ret_sub)
                *ret_sub = sub;
        if (ret_suppress)
                *ret_suppress = msg[1] & UDS_SUPPRESS_POSITIVE_RESPONSE;
        return 0;
}

/* ---- 0x10 DiagnosticSessionControl ------------------------------------------------ */

int uds_build_session_control_request(uint8_t *buf, size_t size, uint8_t session, bool suppress, size_t *ret_len) {
        if (session == 0x00 || session & UDS_SUPPRESS_POSITIVE_RESPONSE)
                return -EINVAL;
        return build_subfunction(buf, size, UDS_SID_DIAGNOSTIC_SESSION_CONTROL, session, suppress, ret_len);
}

int uds_parse_session_control_request(const uint8_t *msg, size_t len, uint8_t *ret_session, bool *ret_suppress) {
        return parse_subfunction(UDS_SID_DIAGNOSTIC_SESSION_CONTROL, msg, len, ret_session, ret_suppress);
}

int uds_build_session_control_response(uint8_t *buf, size_t size, uint8_t session, const UdsSessionTiming *timing,
                                       size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (!timing || session == 0x00 || session & UDS_SUPPRESS_POSITIVE_RESPONSE)
                return -EINVAL;
        if (timing->p2_star_ms / 10 > UINT16_MAX)
                return -ERANGE;
        uds_put_u8(&w, UDS_SID_DIAGNOSTIC_SESSION_CONTROL + UDS_POSITIVE_RESPONSE_OFFSET);
        uds_put_u8(&w, session);
        uds_put_be(&w, timing->p2_ms, 2);
        uds_put_be(&w, timing->p2_star_ms / 10, 2);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_session_control_response(const uint8_t *msg, size_t len, uint8_t session, UdsSessionTiming *ret_timing) {
        int r;

        r = uds_check_response(UDS_SID_DIAGNOSTIC_SESSION_CONTROL, msg, len, 2);
        if (r < 0)
                return r;
        if (!subfunction_echo_valid(msg[1]))
                return -EBADMSG;
        if (msg[1] != session)
                return -EPROTO;
        if (len != 6)
                return -EBADMSG;
        if (ret_timing)
                *ret_timing = (UdsSessionTiming) {
                        .p2_ms = (uint16_t) uds_be_read(msg + 2, 2),
                        .p2_star_ms = (uint32_t) uds_be_read(msg + 4, 2) * 10,
                };
        return 0;
}

/* ---- 0x11 ECUReset -------------------------------------------------------------- */

int uds_build_ecu_reset_request(uint8_t *buf, size_t size, uint8_t type, bool suppress, size_t *ret_len) {
        if (type == 0x00 || type & UDS_SUPPRESS_POSITIVE_RESPONSE)
                return -EINVAL;
        return build_subfunction(buf, size, UDS_SID_ECU_RESET, type, suppress, ret_len);
}

int uds_parse_ecu_reset_request(const uint8_t *msg, size_t len, uint8_t *ret_type, bool *ret_suppress) {
        return parse_subfunction(UDS_SID_ECU_RESET, msg, len, ret_type, ret_suppress);
}

int uds_build_ecu_reset_response(uint8_t *buf, size_t size, uint8_t type, int power_down_time, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (type == 0x00 || type & UDS_SUPPRESS_POSITIVE_RESPONSE || power_down_time > UINT8_MAX)
                return -EINVAL;
        if ((power_down_time >= 0) != (type == UDS_RESET_ENABLE_RAPID_SHUTDOWN))
                return -EINVAL;
        uds_put_u8(&w, UDS_SID_ECU_RESET + UDS_POSITIVE_RESPONSE_OFFSET);
        uds_put_u8(&w, type);
        if (power_down_time >= 0)
                uds_put_u8(&w, (uint8_t) power_down_time);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_ecu_reset_response(const uint8_t *msg, size_t len, uint8_t type, uint8_t *ret_power_down_time) {
        size_t want;
        int r;

        r = uds_check_response(UDS_SID_ECU_RESET, msg, len, 2);
        if (r < 0)
                return r;
        if (!subfunction_echo_valid(msg[1]))
                return -EBADMSG;
        if (msg[1] != type)
                return -EPROTO;
        want = type == UDS_RESET_ENABLE_RAPID_SHUTDOWN ? 3 : 2;
        if (len != want)
                return -EBADMSG;
        if (want == 2)
                return 0;
        if (ret_power_down_time)
                *ret_power_down_time = msg[2];
        return 1;
}

/* ---- 0x22 ReadDataByIdentifier / 0x2E WriteDataByIdentifier ----------------------- */

static int build_did_data(uint8_t *buf, size_t size, uint8_t first, uint16_t did, const uint8_t *data, size_t data_len,
                          size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (!data || data_len == 0)
                return -EINVAL;
        uds_put_u8(&w, first);
        uds_put_be(&w, did, 2);
        uds_put_bytes(&w, data, data_len);
        return uds_writer_finish(&w, ret_len);
}

int uds_build_read_did_request(uint8_t *buf, size_t size, uint16_t did, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        uds_put_u8(&w, UDS_SID_READ_DATA_BY_IDENTIFIER);
        uds_put_be(&w, did, 2);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_read_did_request(const uint8_t *msg, size_t len, uint16_t *ret_did) {
        int r;

        r = uds_check_request(UDS_SID_READ_DATA_BY_IDENTIFIER, msg, len, 3);
        if (r < 0)
                return r;
        /* Several DIDs in one request are valid UDS but not supported here. */
        if (len % 2 == 1 && len > 3)
                return -ERANGE;
        if (len != 3)
                return -EBADMSG;
        if (ret_did)
                *ret_did = (uint16_t) uds_be_read(msg + 1, 2);
        return 0;
}

int uds_build_read_did_response(uint8_t *buf, size_t size, uint16_t did, const uint8_t *data, size_t data_len,
                                size_t *ret_len) {
        return build_did_data(buf, size, UDS_SID_READ_DATA_BY_IDENTIFIER + UDS_POSITIVE_RESPONSE_OFFSET, did, data,
                              data_len, ret_len);
}

int uds_parse_read_did_response(const uint8_t *msg, size_t len, uint16_t did, const uint8_t **ret_data,
                                size_t *ret_data_len) {
        int r;

        r = uds_check_response(UDS_SID_READ_DATA_BY_IDENTIFIER, msg, len, 3);
        if (r < 0)
                return r;
        if (uds_be_read(msg + 1, 2) != did)
                return -EPROTO;
        if (len < 4)
                return -EBADMSG;
        if (ret_data)
                *ret_data = msg + 3;
        if (ret_data_len)
                *ret_data_len = len - 3;
        return 0;
}

int uds_build_write_did_request(uint8_t *buf, size_t size, uint16_t did, const uint8_t *data, size_t data_len,
                                size_t *ret_len) {
        return build_did_data(buf, size, UDS_SID_WRITE_DATA_BY_IDENTIFIER, did, data, data_len, ret_len);
}

int uds_parse_write_did_request(const uint8_t *msg, size_t len, uint16_t *ret_did, const uint8_t **ret_data,
                                size_t *ret_data_len) {
        int r;

        r = uds_check_request(UDS_SID_WRITE_DATA_BY_IDENTIFIER, msg, len, 4);
        if (r < 0)
                return r;
        if (ret_did)
                *ret_did = (uint16_t) uds_be_read(msg + 1, 2);
        if (ret_data)
                *ret_data = msg + 3;
        if (ret_data_len)
                *ret_data_len = len - 3;
        return 0;
}

int uds_build_write_did_response(uint8_t *buf, size_t size, uint16_t did, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        uds_put_u8(&w, UDS_SID_WRITE_DATA_BY_IDENTIFIER + UDS_POSITIVE_RESPONSE_OFFSET);
        uds_put_be(&w, did, 2);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_write_did_response(const uint8_t *msg, size_t len, uint16_t did) {
        int r;

        r = uds_check_response(UDS_SID_WRITE_DATA_BY_IDENTIFIER, msg, len, 3);
        if (r < 0)
                return r;
        if (uds_be_read(msg + 1, 2) != did)
                return -EPROTO;
        return len == 3 ? 0 : -EBADMSG;
}

/* ---- 0x31 RoutineControl -------------------------------------------------------- */

static bool routine_type_valid(uint8_t type) {
        return type >= UDS_ROUTINE_START && type <= UDS_ROUTINE_RESULTS;
}

static int build_routine(uint8_t *buf, size_t size, uint8_t first, uint8_t type, const UdsRoutine *r,
                         size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        if (r->record_len > 0 && !r->record)
                return -EINVAL;
        uds_put_u8(&w, first);
        uds_put_u8(&w, type);
        uds_put_be(&w, r->rid, 2);
        uds_put_bytes(&w, r->record, r->record_len);
        return uds_writer_finish(&w, ret_len);
}

int uds_build_routine_request(uint8_t *buf, size_t size, const UdsRoutine *r, size_t *ret_len) {
        if (!r || !routine_type_valid(r->type))
                return -EINVAL;
        return build_routine(buf, size, UDS_SID_ROUTINE_CONTROL,
                             (uint8_t) (r->type | (r->suppress ? UDS_SUPPRESS_POSITIVE_RESPONSE : 0)), r, ret_len);
}

int uds_parse_routine_request(const uint8_t *msg, size_t len, UdsRoutine *ret) {
        uint8_t type;
        int r;

        r = uds_check_request(UDS_SID_ROUTINE_CONTROL, msg, len, 4);
        if (r < 0)
                return r;
        type = msg[1] & (uint8_t) ~UDS_SUPPRESS_POSITIVE_RESPONSE;
        if (!routine_type_valid(type))
                return -EOPNOTSUPP;
        if (ret)
                *ret = (UdsRoutine) {
                        .type = type,
                        .suppress = msg[1] & UDS_SUPPRESS_POSITIVE_RESPONSE,
                        .rid = (uint16_t) uds_be_read(msg + 2, 2),
                        .record = len > 4 ? msg + 4 : NULL,
                        .record_len = len - 4,
                };
        return 0;
}

int uds_build_routine_response(uint8_t *buf, size_t size, const UdsRoutine *r, size_t *ret_len) {
        if (!r || !routine_type_valid(r->type))
                return -EINVAL;
        return build_routine(buf, size, UDS_SID_ROUTINE_CONTROL + UDS_POSITIVE_RESPONSE_OFFSET, r->type, r, ret_len);
}

int uds_parse_routine_response(const uint8_t *msg, size_t len, uint8_t type, uint16_t rid, UdsRoutine *ret) {
        int r;

        r = uds_check_response(UDS_SID_ROUTINE_CONTROL, msg, len, 4);
        if (r < 0)
                return r;
        if (!routine_type_valid(msg[1]))
                return -EBADMSG;
        if (msg[1] != type || uds_be_read(msg + 2, 2) != rid)
                return -EPROTO;
        if (ret)
                *ret = (UdsRoutine) {
                        .type = type,
                        .rid = rid,
                        .record = len > 4 ? msg + 4 : NULL,
                        .record_len = len - 4,
                };
        return 0;
}

/* ---- 0x3E TesterPresent ----------------------------------------------------------- */

int uds_build_tester_present(uint8_t *buf, size_t size, bool suppress, size_t *ret_len) {
        return build_subfunction(buf, size, UDS_SID_TESTER_PRESENT, 0x00, suppress, ret_len);
}

int uds_parse_tester_present(const uint8_t *msg, size_t len, bool *ret_suppress) {
        int r;

        r = uds_check_request(UDS_SID_TESTER_PRESENT, msg, len, 2);
        if (r < 0)
                return r;
        if (len != 2)
                return -EBADMSG;
        if ((msg[1] & (uint8_t) ~UDS_SUPPRESS_POSITIVE_RESPONSE) != 0x00)
                return -EOPNOTSUPP;
        if (ret_suppress)
                *ret_suppress = msg[1] & UDS_SUPPRESS_POSITIVE_RESPONSE;
        return 0;
}

int uds_build_tester_present_response(uint8_t *buf, size_t size, size_t *ret_len) {
        UdsWriter w = uds_writer(buf, size);

        uds_put_u8(&w, UDS_SID_TESTER_PRESENT + UDS_POSITIVE_RESPONSE_OFFSET);
        uds_put_u8(&w, 0x00);
        return uds_writer_finish(&w, ret_len);
}

int uds_parse_tester_present_response(const uint8_t *msg, size_t len) {
        int r;

        r = uds_check_response(UDS_SID_TESTER_PRESENT, msg, len, 2);
        if (r < 0)
                return r;
        if (msg[1] != 0x00)
                return -EPROTO;
        return len == 2 ? 0 : -EBADMSG;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "curl-internal.h"

int up_curl_setup_common(CURL *c, const UpCurlCommon *o) {
        if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK)
                return -EOPNOTSUPP;
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        /* The URL is used byte for byte: "%2F" in a role name stays encoded. */
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
        /* Slow retrieval: give up on a transfer slower than this for that long. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "libuptane/0.1");
        if (o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        if (o->client_cert)
                curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
        if (o->client_key)
                curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
        return 0;
}

int up_curl_error_to_errno(CURLcode c) {
        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:    return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:       return -ECONNREFUSED;
        case CURLE_FILESIZE_EXCEEDED:     return -EFBIG;
        case CURLE_OUT_OF_MEMORY:         return -ENOMEM;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:         return -EINVAL;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:     return -EPROTO;
        default:                          return -EIO;
        }
}

/* SPDX-License-Identifier: MIT */
/* UDP vehicle identification, the tester's side (doip_discover()). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doip_client.h"
#include "doip_internal.h"
#include "doip_io.h"

/* Larger than any vehicle identification response (8 + 33 bytes). */
#define DATAGRAM_MAX 512u
#define DISCOVER_MAX_RESPONSES 255u

static int request_check(uint8_t version, const DoipPayload *request, size_t max_responses) {
        if (version != DOIP_VERSION_2012 && version != DOIP_VERSION_2019 && version != DOIP_VERSION_DEFAULT)
                return -EINVAL;
        if (max_responses == 0 || max_responses > DISCOVER_MAX_RESPONSES)
                return -EINVAL;
        if (request && request->type != DOIP_TYPE_VID_REQUEST && request->type != DOIP_TYPE_VID_REQUEST_EID &&
            request->type != DOIP_TYPE_VID_REQUEST_VIN)
                return -EINVAL;
        return 0;
}

static int send_request(int fd, const struct sockaddr_storage *sa, socklen_t sa_len, uint8_t version,
                        const DoipPayload *request) {
        DoipPayload plain = { .type = DOIP_TYPE_VID_REQUEST };
        uint8_t buf[64];
        size_t n;
        int r;

        r = doip_message_build(buf, sizeof(buf), version, request ? request : &plain, &n);
        if (r < 0)
                return r;
        if (sendto(fd, buf, n, MSG_NOSIGNAL, (const struct sockaddr *) sa, sa_len) < 0)
                return doip_negative_errno();
        return 0;
}

/* One datagram: 1 when it is a vehicle identification response (in *ret),
 * 0 when it is something else or nothing was there. */
static int receive_one(int fd, DoipDiscovered *ret) {
        uint8_t buf[DATAGRAM_MAX];
        DoipDiscovered d = { .from_len = sizeof(d.from) };
        DoipPayload p;
        ssize_t n;

        n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *) &d.from, &d.from_len);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : doip_negative_errno();
        if ((size_t) n > sizeof(buf))
                return 0; /* truncated: not ours */
        if (doip_message_parse(buf, (size_t) n, DATAGRAM_MAX, &d.version, &p) < 0 ||
            p.type != DOIP_TYPE_VID_RESPONSE)
                return 0;
        d.announcement = p.announcement;
        *ret = d;
        return 1;
}

int doip_discover(const char *address, uint16_t port, uint8_t version, const DoipPayload *request,
                  unsigned timeout_ms, size_t max_responses, DoipDiscovered **ret, size_t *ret_n) {
        _cleanup_free_ DoipDiscovered *found = NULL;
        _cleanup_close_ int fd = -1;
        struct sockaddr_storage sa;
        socklen_t sa_len;
        uint64_t deadline;
        size_t n = 0;
        int one = 1, r;

        if (!ret || !ret_n)
                return -EINVAL;
        r = request_check(version, request, max_responses);
        if (r < 0)
                return r;
        r = doip_address_parse(address, port, &sa, &sa_len);
        if (r < 0)
                return r;
        found = calloc(max_responses, sizeof(*found));
        if (!found)
                return -ENOMEM;
        fd = doip_socket_new(&sa, SOCK_DGRAM);
        if (fd < 0)
                return fd;
        if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
                return doip_negative_errno();
        r = send_request(fd, &sa, sa_len, version, request);
        if (r < 0)
                return r;
        deadline = doip_deadline(doip_now_usec(), timeout_ms);
        while (n < max_responses && doip_wait(fd, POLLIN, deadline) == 0) {
                r = receive_one(fd, &found[n]);
                if (r < 0)
                        return r;
                n += (size_t) r;
        }
        if (n == 0)
                return -ETIMEDOUT;
        *ret = TAKE_PTR(found);
        *ret_n = n;
        return 0;
}

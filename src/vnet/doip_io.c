/* SPDX-License-Identifier: MIT */
/* Socket helpers shared by the DoIP client, discovery and server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doip_internal.h"
#include "doip_io.h"

/* One read(2) at most this much. */
#define INPUT_CHUNK (64u * 1024u)

int doip_address_parse(const char *host, uint16_t port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
        socklen_t len;

        if (!ret)
                return -EINVAL;
        if (!host || !*host)
                host = "0.0.0.0";
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons(port);
                len = sizeof(*in4);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                len = sizeof(*in6);
        } else
                return -EINVAL;
        *ret = ss;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int doip_socket_new(const struct sockaddr_storage *sa, int type) {
        int fd = socket(sa->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        return fd < 0 ? doip_negative_errno() : fd;
}

int doip_set_nodelay(int fd) {
        int one = 1;

        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
                return doip_negative_errno();
        return 0;
}

int doip_wait(int fd, short events, uint64_t deadline) {
        struct pollfd p = { .fd = fd, .events = events };

        for (;;) {
                uint64_t now = doip_now_usec();
                int timeout = -1, n;

                if (deadline != USEC_INFINITY)
                        /* rounded up: never spin on a sub-millisecond rest */
                        timeout = now >= deadline ? 0 :
                                (int) DOIP_MIN((deadline - now + 999) / USEC_PER_MSEC, (uint64_t) 60000);
                n = poll(&p, 1, timeout);
                if (n > 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return doip_negative_errno();
                if (n == 0 && deadline != USEC_INFINITY && doip_now_usec() >= deadline)
                        return -ETIMEDOUT;
        }
}

int doip_send_some(int fd, const struct iovec *iov, size_t n_iov, size_t *ret_sent) {
        struct msghdr mh = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n_iov };
        ssize_t n;

        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return doip_negative_errno();
                n = 0;
        }
        *ret_sent = (size_t) n;
        return 0;
}

void doip_iov_advance(struct iovec **iov, size_t *n_iov, size_t n) {
        while (*n_iov > 0 && n >= (*iov)->iov_len) {
                n -= (*iov)->iov_len;
                (*iov)++;
                (*n_iov)--;
        }
        if (*n_iov > 0) {
                (*iov)->iov_base = (uint8_t *) (*iov)->iov_base + n;
                (*iov)->iov_len -= n;
        }
}

int doip_send_all(int fd, const struct iovec *iov, size_t n_iov, uint64_t deadline) {
        struct iovec copy[8], *v = copy;
        size_t sent;
        int r;

        if (n_iov > ELEMENTSOF(copy))
                return -EINVAL;
        memcpy(copy, iov, n_iov * sizeof(*iov));
        for (;;) {
                while (n_iov > 0 && v->iov_len == 0)
                        v++, n_iov--;
                if (n_iov == 0)
                        return 0;
                r = doip_send_some(fd, v, n_iov, &sent);
                if (r < 0)
                        return r;
                doip_iov_advance(&v, &n_iov, sent);
                if (sent == 0) {
                        r = doip_wait(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                }
        }
}

int doip_input_init(DoipInput *in, uint32_t max_payload) {
        int r;

        *in = (DoipInput) {};
        r = doip_reader_new(max_payload, &in->reader);
        if (r < 0)
                return r;
        in->buf = malloc(INPUT_CHUNK);
        if (!in->buf) {
                in->reader = doip_reader_free(in->reader);
                return -ENOMEM;
        }
        in->size = INPUT_CHUNK;
        return 0;
}

void doip_input_done(DoipInput *in) {
        in->reader = doip_reader_free(in->reader);
        free(in->buf);
        *in = (DoipInput) {};
}

int doip_input_fill(DoipInput *in, int fd) {
        ssize_t n;

        if (in->start < in->end)
                return -EBUSY;
        in->start = in->end = 0;
        do
                n = read(fd, in->buf, in->size);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : doip_negative_errno();
        in->end = (size_t) n;
        return (int) n;
}

int doip_input_next(DoipInput *in, DoipMessage *ret, uint8_t *reterr_nack) {
        const uint8_t *p = in->buf + in->start;
        size_t len = in->end - in->start;
        int r;

        r = doip_reader_feed(in->reader, &p, &len, ret, reterr_nack);
        in->start = in->end - len;
        return r;
}

bool doip_input_pending(const DoipInput *in) {
        return in->start < in->end;
}

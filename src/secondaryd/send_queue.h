/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Sends off the event loop: a thread of its own hands each queued message to
 * a transport whose send blocks (an ISO-TP socket with CAN_ISOTP_WAIT_TX_DONE
 * blocks until the kernel sent the last frame, as long as the peer's flow
 * control makes it). The loop only queues, so a Primary that stalls a long
 * answer cannot stop the daemon from serving DoIP or pinging its watchdog.
 *
 * Messages go out in the order queued, one at a time. At most
 * SEND_QUEUE_MAX wait; more are refused (-ENOBUFS): a peer that does not
 * take its answers does not get more memory. Send errors are logged.
 */

#include <stddef.h>
#include <stdint.h>

#include "uds_transport.h"

#define SEND_QUEUE_MAX 16u

typedef struct SendQueue SendQueue;

/* Starts the thread. what names the transport in log messages ("ISO-TP"). */
int send_queue_new(UdsTransport transport, const char *what, SendQueue **ret);
/* Copies the message into the queue. -ENOBUFS full, -ENOMEM. */
int send_queue_push(SendQueue *q, const uint8_t *msg, size_t len);
/* Interrupts a send in progress (a signal to the thread: the kernel aborts
 * the transfer), drops what waits, joins the thread. */
SendQueue *send_queue_free(SendQueue *q);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon: state, the UDS handler and its transports on one sd-event loop.
 *
 *   DoIP     doip_server (TCP/UDP 13400), several testers;
 *   ISO-TP   one CAN_ISOTP socket, one request at a time.
 *
 * The long routines (0x31 01 0A01/0A02) run on a worker thread: DoIP sends
 * responsePending (7F 31 78) at once and every 2 s through doip_server's
 * -EINPROGRESS; ISO-TP the same from a timer. While one runs, requests from
 * other testers get 0x21 busyRepeatRequest (the context has one owner).
 *
 * Exit status: 0 stopped by SIGTERM/SIGINT, 70 the state, key or a socket
 * cannot be set up, 78 a transport this host cannot provide (no AF_CAN, no
 * such interface, address in use).
 */

#include "secondary_config.h"

int secondary_daemon_run(SecondaryConfig *c);

/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/socket.h>

#include "server.h"

struct MHD_Daemon;

/* Serves s on addr from a pool of s->cfg.threads threads. */
int http_start(Server *s, const struct sockaddr *addr, struct MHD_Daemon **ret);

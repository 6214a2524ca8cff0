/* SPDX-License-Identifier: MIT */
#pragma once

#include "server.h"

typedef struct Refresher Refresher;

/* A thread that renews the Director's expiring timestamps. */
int refresher_start(Server *s, Refresher **ret);
Refresher *refresher_stop(Refresher *r);

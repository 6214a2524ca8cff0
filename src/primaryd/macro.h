/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemons' cleanup macros now live in src/daemon/daemon_macro.h; this
 * name stays for the sources that still include it. */
#include "daemon_macro.h"

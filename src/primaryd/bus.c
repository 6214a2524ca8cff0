/* SPDX-License-Identifier: MIT */
#include "bus.h"

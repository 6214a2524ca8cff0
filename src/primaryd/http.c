/* SPDX-License-Identifier: MIT */
#include "http.h"

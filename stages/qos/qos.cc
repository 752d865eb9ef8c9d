#include "stages/qos/qos.h"

// Qos is header-only (one assignment per message); this file keeps the folder's shape.

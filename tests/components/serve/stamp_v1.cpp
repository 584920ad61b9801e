#include "stamp.hpp"

using StampV1 = Stamp<'1'>;
TORVYN_PROCESSOR(StampV1)

#include "stamp.hpp"

using StampV2 = Stamp<'2'>;
TORVYN_PROCESSOR(StampV2)

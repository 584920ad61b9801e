#include "torvyn/resources/copy_ledger.hpp"

namespace torvyn {

std::string_view copy_reason_name(CopyReason reason) {
    switch (reason) {
        case CopyReason::host_to_guest:
            return "host->component read";
        case CopyReason::guest_to_host:
            return "component->host write";
        case CopyReason::host_resize:
            return "host resize";
    }
    return "unknown";
}

}  // namespace torvyn

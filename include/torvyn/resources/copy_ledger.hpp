// Counts every payload copy across a boundary, by reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace torvyn {

enum class CopyReason : std::uint8_t {
    host_to_guest,  // a component read payload bytes (buffer.read / read-all)
    guest_to_host,  // a component wrote payload bytes (mutable-buffer.write / append)
    host_resize,    // the host moved a growing buffer to a larger block
};
inline constexpr std::size_t kCopyReasonCount = 3;

std::string_view copy_reason_name(CopyReason reason);

struct CopyCount {
    std::uint64_t copies = 0;
    std::uint64_t bytes = 0;
};

class CopyLedger {
public:
    void record(CopyReason reason, std::uint64_t bytes) {
        auto& c = counts_[static_cast<std::size_t>(reason)];
        ++c.copies;
        c.bytes += bytes;
    }

    [[nodiscard]] const CopyCount& of(CopyReason reason) const {
        return counts_[static_cast<std::size_t>(reason)];
    }

    [[nodiscard]] CopyCount total() const {
        CopyCount t;
        for (const auto& c : counts_) {
            t.copies += c.copies;
            t.bytes += c.bytes;
        }
        return t;
    }

    CopyLedger& operator+=(const CopyLedger& other) {
        for (std::size_t i = 0; i < kCopyReasonCount; ++i) {
            counts_[i].copies += other.counts_[i].copies;
            counts_[i].bytes += other.counts_[i].bytes;
        }
        return *this;
    }

private:
    std::array<CopyCount, kCopyReasonCount> counts_{};
};

}  // namespace torvyn

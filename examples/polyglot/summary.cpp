// A sink in C++: keeps every record and every dead-lettered line, and at the
// end prints them in sequence order with a count per severity. Printing at
// the end keeps the output the same however the flow's threads interleave.
#include <torvyn/component.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

struct Summary {
    std::vector<std::pair<std::uint64_t, std::string>> records;
    std::vector<std::pair<std::uint64_t, std::string>> rejected;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config&) { return torvyn::Ok{}; }

    torvyn::Result<bool> push(const torvyn::Element& e) {
        std::string text(e.payload.read_all().view());
        if (auto why = torvyn::dead_letter_reason()) {
            rejected.emplace_back(e.sequence,
                                  why->code + " from " + why->node + ": " + why->message);
        } else {
            records.emplace_back(e.sequence, std::move(text));
        }
        return false;
    }

    torvyn::Result<torvyn::Ok> complete() {
        std::sort(records.begin(), records.end());
        std::sort(rejected.begin(), rejected.end());
        std::map<std::string, int> by_severity;
        std::string out;
        for (const auto& [seq, text] : records) {
            out += "#" + std::to_string(seq) + " " + text + "\n";
            by_severity[severity_of(text)]++;
        }
        for (const auto& [seq, why] : rejected) {
            out += "rejected #" + std::to_string(seq) + ": " + why + "\n";
        }
        out += "summary: " + std::to_string(records.size()) + " records";
        for (const auto& [severity, n] : by_severity) {
            out += ", " + std::to_string(n) + " " + severity;
        }
        out += "; " + std::to_string(rejected.size()) + " rejected\n";
        if (!torvyn::print(out)) {
            return torvyn::Error::unavailable("stdout refused the write");
        }
        return torvyn::Ok{};
    }

    static std::string severity_of(const std::string& record) {
        static const std::string key = "\"severity\":\"";
        const auto at = record.find(key);
        if (at == std::string::npos) {
            return "unclassified";
        }
        const auto from = at + key.size();
        return record.substr(from, record.find('"', from) - from);
    }
};

TORVYN_SINK(Summary)

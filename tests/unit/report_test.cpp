// The run summary as the operator reads it.
#include <gtest/gtest.h>

#include <sstream>

#include "torvyn/observability/report.hpp"

namespace torvyn {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

TEST(Summary, StaysAlignedWithLongNames) {
    FlowReport r;
    r.name = "f";
    for (const char* name : {"src", "a_node_with_a_rather_long_name", "out"}) {
        NodeReport n;
        n.name = name;
        r.nodes.push_back(n);
    }
    for (const auto& [from, to] : {std::pair{"src", "a_node_with_a_rather_long_name"},
                                   std::pair{"a_node_with_a_rather_long_name", "out"}}) {
        EdgeReport e;
        e.from = from;
        e.to = to;
        e.capacity = 64;
        r.edges.push_back(e);
    }
    const auto lines = lines_of(format_summary(r));
    ASSERT_GE(lines.size(), 7u);
    // The node table (header and three rows), then the queue table (header
    // and two rows): every line of a table is as long as its header.
    for (std::size_t i = 2; i <= 4; ++i) {
        EXPECT_EQ(lines[i].size(), lines[1].size()) << lines[i];
    }
    for (std::size_t i = 6; i <= 7; ++i) {
        EXPECT_EQ(lines[i].size(), lines[5].size()) << lines[i];
    }
}

}  // namespace
}  // namespace torvyn

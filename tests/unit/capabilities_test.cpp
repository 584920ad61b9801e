// The capability table and the checks that read it: what a component's
// imports need, what a node's grants cover, what the engine is asked to link.
#include "torvyn/security/capabilities.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace torvyn {
namespace {

NodeSpec node_with(std::vector<std::string> capabilities) {
    NodeSpec n;
    n.name = "n";
    n.capabilities = std::move(capabilities);
    return n;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Capabilities, EveryNamedRowIsFoundByNameAndCoversSomething) {
    for (const auto& c : all_capabilities()) {
        EXPECT_FALSE(c.interfaces.empty()) << c.name;
        if (c.key == GrantKey::implicit) {
            EXPECT_EQ(find_capability(c.name), nullptr);
            continue;
        }
        EXPECT_EQ(find_capability(c.name), &c);
        EXPECT_FALSE(c.how_to_grant.empty()) << c.name;
    }
    EXPECT_EQ(find_capability("root"), nullptr);
    EXPECT_EQ(interface_without_version("wasi:cli/stdout@0.2.12"), "wasi:cli/stdout");
}

TEST(Capabilities, AnUngrantedImportAsksForTheCapabilityWithAHintToPaste) {
    const auto check = check_imports(
        {"wasi:io/streams@0.2.0", "wasi:filesystem/types@0.2.0", "torvyn:streaming/types@0.1.0"},
        node_with({}));
    ASSERT_EQ(check.errors.size(), 1u);
    const Error& e = check.errors.front();
    EXPECT_EQ(e.code, ErrorCode::component_link);
    // The specific import is named, not the streams it needs.
    EXPECT_NE(e.message.find("imports 2 ungranted interfaces: wasi:filesystem/types@0.2.0, "
                             "wasi:io/streams@0.2.0, which need capability 'dirs'"),
              std::string::npos)
        << e.message;
    EXPECT_EQ(e.hint.rfind("grant it: dirs = [{", 0), 0u) << e.hint;
}

TEST(Capabilities, SharedInterfacesAloneAskForStdout) {
    const auto check = check_imports({"wasi:io/streams@0.2.0"}, node_with({}));
    ASSERT_EQ(check.errors.size(), 1u);
    EXPECT_NE(check.errors.front().message.find("needs capability 'stdout'"), std::string::npos);
}

TEST(Capabilities, SeveralMissingAreOneLineNamedFirst) {
    const auto check = check_imports(
        {"wasi:cli/stdout@0.2.0", "wasi:random/random@0.2.0", "wasi:cli/environment@0.2.0"},
        node_with({}));
    ASSERT_EQ(check.errors.size(), 1u);
    const Error& e = check.errors.front();
    EXPECT_NE(e.message.find("need capabilities 'random', 'env', 'stdout'"), std::string::npos)
        << e.message;
    EXPECT_EQ(e.hint, "grant them: capabilities = [\"random\", \"stdout\"]; env = [\"NAME\"]");
}

TEST(Capabilities, EveryUngrantedImportIsNamedInOneRefusal) {
    const std::vector<std::string> imports = {
        "wasi:cli/stdout@0.2.0",        "wasi:random/random@0.2.0",
        "wasi:clocks/wall-clock@0.2.0", "wasi:sockets/ip-name-lookup@0.2.0",
        "wasi:http/types@0.2.0",        "wasi:io/streams@0.2.0"};
    const auto check = check_imports(imports, node_with({}));
    ASSERT_EQ(check.errors.size(), 1u);
    const Error& e = check.errors.front();
    EXPECT_NE(e.message.find("imports 6 ungranted interfaces"), std::string::npos) << e.message;
    for (const auto& i : imports) {
        EXPECT_NE(e.message.find(i), std::string::npos) << i << " missing from: " << e.message;
    }
    EXPECT_NE(e.message.find("wasi:sockets/ip-name-lookup@0.2.0, wasi:http/types@0.2.0, which no "
                             "capability grants"),
              std::string::npos)
        << e.message;
    EXPECT_EQ(
        e.hint.rfind("grant them: capabilities = [\"random\", \"wall-clock\", \"stdout\"]", 0), 0u)
        << e.hint;
}

TEST(Capabilities, DenyStubsEveryUngrantedWasiImportAndLinksWasiIo) {
    NodeSpec n = node_with({"stdout"});
    n.ungranted_imports = UngrantedImports::deny;
    const auto check =
        check_imports({"wasi:cli/stdout@0.2.0", "wasi:io/streams@0.2.0", "wasi:random/random@0.2.0",
                       "wasi:sockets/ip-name-lookup@0.2.0", "wasi:cli/exit@0.2.0"},
                      n);
    EXPECT_TRUE(check.errors.empty());
    ASSERT_EQ(check.stubbed.size(), 2u);
    EXPECT_EQ(check.stubbed[0].name, "wasi:sockets/ip-name-lookup@0.2.0");
    EXPECT_EQ(check.stubbed[0].hint, "no capability grants it");
    EXPECT_EQ(check.stubbed[1].name, "wasi:random/random@0.2.0");
    EXPECT_EQ(check.stubbed[1].hint, "grant 'random' to allow it");
    // Granted interfaces stay granted; the implicit ones stay real.
    EXPECT_TRUE(contains(check.implicit, "wasi:cli/exit"));

    // Nothing granted: wasi:io reaches nothing by itself, so it is linked
    // (stdin hands out its streams), not stubbed.
    NodeSpec bare = node_with({});
    bare.ungranted_imports = UngrantedImports::deny;
    const auto io = check_imports({"wasi:io/streams@0.2.0", "wasi:cli/stdout@0.2.0"}, bare);
    EXPECT_TRUE(io.errors.empty());
    EXPECT_TRUE(contains(io.implicit, "wasi:io/streams"));
    ASSERT_EQ(io.stubbed.size(), 1u);
    EXPECT_EQ(io.stubbed[0].hint, "grant 'stdout' to allow it");
}

TEST(Capabilities, DenyStillRefusesWhatIsNotWasi) {
    NodeSpec n = node_with({});
    n.ungranted_imports = UngrantedImports::deny;
    const auto check = check_imports({"acme:db/query@1.0.0"}, n);
    ASSERT_EQ(check.errors.size(), 1u);
    EXPECT_TRUE(check.stubbed.empty());
}

TEST(Capabilities, AnInterfaceNoCapabilityCoversIsRefusedOnItsOwn) {
    const auto check = check_imports({"wasi:http/outgoing-handler@0.2.0"}, node_with({}));
    ASSERT_EQ(check.errors.size(), 1u);
    EXPECT_NE(check.errors.front().message.find("which no capability grants"), std::string::npos);
}

TEST(Capabilities, ImplicitImportsNeedNoGrantAndAreListedForLinking) {
    const auto check = check_imports(
        {"wasi:cli/exit@0.2.0", "wasi:cli/stdin@0.2.0", "wasi:cli/terminal-stdout@0.2.0"},
        node_with({}));
    EXPECT_TRUE(check.errors.empty());
    EXPECT_TRUE(check.warnings.empty());
    EXPECT_EQ(check.implicit, (std::vector<std::string>{"wasi:cli/exit", "wasi:cli/stdin",
                                                        "wasi:cli/terminal-stdout"}));
}

TEST(Capabilities, AGrantNothingUsesIsAWarning) {
    NodeSpec n = node_with({"random", "stdout"});
    n.env = {"HOME"};
    const auto check = check_imports({"wasi:cli/stdout@0.2.0", "wasi:io/streams@0.2.0"}, n);
    EXPECT_TRUE(check.errors.empty());
    ASSERT_EQ(check.warnings.size(), 2u);
    EXPECT_EQ(check.warnings[0].code, ErrorCode::component_unused_grant);
    EXPECT_NE(check.warnings[0].message.find("granted 'random'"), std::string::npos);
    EXPECT_NE(check.warnings[1].message.find("granted 'env'"), std::string::npos);
}

TEST(Capabilities, ResolvedGrantsNameEveryInterfaceOfEveryHeldCapabilityOnce) {
    NodeSpec n = node_with({"stdout", "stderr", "monotonic-clock"});
    n.env = {"TORVYN_SURELY_UNSET_VARIABLE"};
    auto resolved = resolve_grants(n, ".");
    ASSERT_TRUE(resolved) << resolved.error().format();
    const auto& ifaces = resolved.value().grants.interfaces;
    for (const char* want :
         {"wasi:cli/stdout", "wasi:cli/stderr", "wasi:io/streams", "wasi:io/poll",
          "wasi:clocks/monotonic-clock", "wasi:cli/environment"}) {
        EXPECT_TRUE(contains(ifaces, want)) << want;
    }
    EXPECT_FALSE(contains(ifaces, "wasi:random/random"));
    EXPECT_EQ(std::count(ifaces.begin(), ifaces.end(), "wasi:io/streams"), 1);
    EXPECT_TRUE(resolved.value().grants.env.empty());  // unset on this host: nothing to read
    EXPECT_TRUE(contains(resolved.value().described,
                         "env TORVYN_SURELY_UNSET_VARIABLE (unset on "
                         "this host)"));
}

TEST(Capabilities, NothingGrantedLinksNothing) {
    auto resolved = resolve_grants(node_with({}), ".");
    ASSERT_TRUE(resolved);
    EXPECT_TRUE(resolved.value().grants.interfaces.empty());
}

}  // namespace
}  // namespace torvyn

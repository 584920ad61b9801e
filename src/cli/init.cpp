// torvyn init: a new project with one component of a chosen language and
// role, wired between a test source and a printing sink, that builds with
// `make` and runs with `torvyn run .` without edits. The component sources
// are sdk/templates/<lang>/<role>.*; a language is one row of kLanguages.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "common.hpp"
#include "torvyn/core/suggest.hpp"

#ifndef TORVYN_SOURCE_DIR
#define TORVYN_SOURCE_DIR ""
#endif

namespace torvyn::cli {
namespace {

namespace fs = std::filesystem;

// What differs between languages: where the component's source goes, how
// CMake builds it, and the language's own project file (for its tools).
struct Language {
    std::string_view name;
    std::string_view ext;          // of the template and of the source
    std::string_view source_path;  // in the project; {name} is the project's name
    std::string_view cmake;        // the line that builds the component
    std::string_view native_file;  // the language's project file ("" if none)
    std::string_view native_text;
    std::string_view ignore;  // what .gitignore adds
};

// {name}, {role}, {sdk} are replaced (see expand).
constexpr std::array kLanguages = {
    Language{"c", "c", "{name}.c", "torvyn_add_component({name} ROLE {role} SOURCES {name}.c)", "",
             "", ""},
    Language{"cpp", "cpp", "{name}.cpp",
             "torvyn_add_component({name} ROLE {role} SOURCES {name}.cpp)", "", "", ""},
    Language{"rust", "rs", "src/lib.rs",
             "torvyn_add_rust_component({name} CRATE ${CMAKE_CURRENT_SOURCE_DIR})", "Cargo.toml",
             R"~([package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
torvyn = { path = "{sdk}/rust", features = ["{role}"] }

[profile.release]
opt-level = 2
strip = true
)~",
             "target/\n"},
    Language{"python", "py", "{name}.py",
             "torvyn_add_python_component({name} ROLE {role} MODULE {name} SOURCES {name}.py)",
             "pyproject.toml", R"~([project]
name = "{name}"
version = "0.1.0"
description = "A Torvyn {role} component (built by componentize-py: see CMakeLists.txt)"
requires-python = ">=3.11"

# The SDK (import torvyn) is {sdk}/python; componentize-py bundles it.
)~",
             "__pycache__/\n"},
    Language{"js", "js", "{name}.js", "torvyn_add_js_component({name} ROLE {role} ENTRY {name}.js)",
             "package.json", R"~({
  "name": "{name}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "description": "A Torvyn {role} component (built by componentize-js: see CMakeLists.txt)",
  "dependencies": { "torvyn": "file:{sdk}/js" }
}
)~",
             "node_modules/\n"},
    Language{"go", "go", "{name}.go",
             "torvyn_add_go_component({name} ROLE {role} PACKAGE ${CMAKE_CURRENT_SOURCE_DIR})",
             "go.mod", R"~(module example.com/{name}

go 1.25

require torvyn.dev/sdk v0.0.0

replace torvyn.dev/sdk => {sdk}/go
)~",
             ""},
};

constexpr std::array<std::string_view, 6> kRoles = {"source", "processor",  "sink",
                                                    "filter", "aggregator", "router"};

struct InitArgs {
    std::string name;
    std::string lang;
    std::string role;
    std::string dir = ".";
};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// "my_filter" -> "MyFilter": the component's type or class name.
std::string type_name(std::string_view name) {
    std::string out;
    bool upper = true;
    for (char c : name) {
        if (c == '_') {
            upper = true;
            continue;
        }
        out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        upper = false;
    }
    return out;
}

// Where Torvyn's CMake package, SDKs and templates are: beside an installed
// torvyn (PREFIX/share/torvyn) or in the source tree of this build.
Result<fs::path> torvyn_home() {
    std::vector<fs::path> candidates;
    std::error_code ec;
    if (const fs::path exe = executable_path(); !exe.empty()) {
        candidates.push_back(exe.parent_path().parent_path() / "share" / "torvyn");
    }
    if (std::string_view(TORVYN_SOURCE_DIR).size() != 0) {
        candidates.emplace_back(TORVYN_SOURCE_DIR);
    }
    for (const auto& home : candidates) {
        if (fs::is_regular_file(home / "cmake" / "TorvynConfig.cmake", ec) &&
            fs::is_directory(home / "sdk" / "templates", ec)) {
            return fs::canonical(home, ec);
        }
    }
    return Error(ErrorCode::io, "cannot find Torvyn's SDK and templates", "",
                 "install torvyn with `make install` (PREFIX/share/torvyn) or run it from its "
                 "build folder");
}

Result<std::string> read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return Error(ErrorCode::io, fmt::format("cannot read {}", file.string()));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Project {
    std::string name;
    std::string role;
    const Language* lang;
    fs::path home;

    [[nodiscard]] std::string expand(std::string_view text) const {
        std::string out = replace_all(std::string(text), "{name}", name);
        out = replace_all(std::move(out), "{role}", role);
        return replace_all(std::move(out), "{sdk}", (home / "sdk").string());
    }
    // Template text: {{name}} and {{Name}}.
    [[nodiscard]] std::string instantiate(std::string text) const {
        text = replace_all(std::move(text), "{{name}}", name);
        return replace_all(std::move(text), "{{Name}}", type_name(name));
    }
};

// The manifest: the component between this project's test source and
// printing sink, as its role allows.
std::string manifest_text(const Project& p) {
    const std::string& n = p.name;
    std::string nodes;
    std::vector<std::pair<std::string, std::string>> edges;
    auto node = [&](const std::string& id, const std::string& file, std::string_view role,
                    std::string_view extra) {
        nodes += fmt::format("[flow.{}.nodes.{}]\ncomponent = \"{}.wasm\"\nrole = \"{}\"\n{}\n", n,
                             id, file, role, extra);
    };
    const bool has_input = p.role != "source";
    const bool has_output = p.role != "sink";
    if (has_input) {
        node("lines", n + "_lines", "source", "config = \"count=5\"\n");
        edges.emplace_back("lines", n);
    }
    node(n, n, p.role,
         p.role == "source"   ? "config = \"count=5\"\n"
         : p.role == "router" ? "ports = [\"even\", \"odd\"]\n"
                              : "");
    if (has_output) {
        node("print", n + "_print", "sink", "capabilities = [\"stdout\"]\n");
        if (p.role == "router") {
            edges.emplace_back(n + ".even", "print");
            edges.emplace_back(n + ".odd", "print");
        } else {
            edges.emplace_back(n, "print");
        }
    }
    std::string out = fmt::format(
        "# {name}: {a} {role} in {lang}{between}. `make` builds it into\n"
        "# build/components; `torvyn run .` runs this flow.\n\n"
        "[flow.{name}]\ndescription = \"the {role} {name}{between}\"\n\n{nodes}",
        fmt::arg("name", n), fmt::arg("a", p.role == "aggregator" ? "an" : "a"),
        fmt::arg("role", p.role), fmt::arg("lang", p.lang->name),
        fmt::arg("between", has_input && has_output ? ", between a test source and a printer"
                            : has_input             ? ", fed by a test source"
                                                    : ", printed by a test sink"),
        fmt::arg("nodes", nodes));
    for (const auto& [from, to] : edges) {
        out += fmt::format("[[flow.{}.edges]]\nfrom = \"{}\"\nto = \"{}\"\n\n", n, from, to);
    }
    out.pop_back();
    return out;
}

std::string cmake_text(const Project& p) {
    return fmt::format(
        "# Builds the {role} {name} and this project's test source and printer into\n"
        "# build/components (the Makefile says where Torvyn's CMake package is).\n"
        "cmake_minimum_required(VERSION 3.25)\n"
        "project({name} NONE)\n\n"
        "find_package(Torvyn REQUIRED)\n\n"
        "{component}\n"
        "torvyn_add_component({name}_lines ROLE source SOURCES harness/lines.c)\n"
        "torvyn_add_component({name}_print ROLE sink SOURCES harness/print.cpp)\n",
        fmt::arg("name", p.name), fmt::arg("role", p.role),
        fmt::arg("component", p.expand(p.lang->cmake)));
}

std::string makefile_text(const Project& p) {
    const fs::path exe = executable_path();
    return fmt::format(
        "# make: builds the component into build/components; make run: runs Torvyn.toml.\n"
        "TORVYN ?= {exe}\n"
        "TORVYN_CMAKE_DIR ?= {cmake}\n\n"
        "all:\n"
        "\tcmake -S . -B build -G Ninja -DTorvyn_DIR=$(TORVYN_CMAKE_DIR)\n"
        "\tcmake --build build\n\n"
        "run: all\n"
        "\t$(TORVYN) run .\n\n"
        "clean:\n"
        "\trm -rf build\n\n"
        ".PHONY: all run clean\n",
        fmt::arg("exe", exe.empty() ? std::string("torvyn") : exe.string()),
        fmt::arg("cmake", (p.home / "cmake").string()));
}

std::string readme_text(const Project& p) {
    const std::string source = p.expand(p.lang->source_path);
    return fmt::format(
        "# {name}\n\n"
        "{a} Torvyn {role} written in {lang}, made by `torvyn init`.\n\n"
        "```sh\n"
        "make              # builds build/components/{name}.wasm (and the test source and "
        "printer)\n"
        "torvyn run .      # runs Torvyn.toml: prints what reaches the printer, then a summary\n"
        "torvyn link .     # what each node imports and is granted\n"
        "```\n\n"
        "- `{source}`: the component. Change it, `make`, run again.\n"
        "- `Torvyn.toml`: the flow. The component is granted nothing: it computes only.\n"
        "  The test printer is granted `stdout`.\n"
        "- `harness/`: the test source (`lines.c`, config `count=N`) and printer (`print.cpp`).\n"
        "- `CMakeLists.txt` builds all three{native}.\n\n"
        "The {lang} SDK's guide: {sdk}/{guide}. Error policies, limits and capabilities:\n"
        "Torvyn's README (Capabilities and limits), docs/error-policies.md, docs/limits.md.\n",
        fmt::arg("name", p.name), fmt::arg("a", p.role == "aggregator" ? "An" : "A"),
        fmt::arg("role", p.role), fmt::arg("lang", p.lang->name), fmt::arg("source", source),
        fmt::arg("native", p.lang->native_file.empty()
                               ? std::string()
                               : fmt::format("; `{}` is for {}'s own tools", p.lang->native_file,
                                             p.lang->name)),
        fmt::arg("sdk", (p.home / "sdk").string()),
        fmt::arg("guide", p.lang->name == "c" || p.lang->name == "cpp"
                              ? std::string("README.md")
                              : fmt::format("{}/README.md", p.lang->name)));
}

Status write_file(const fs::path& file, std::string_view text) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
        return Error(ErrorCode::io, fmt::format("cannot write {}", file.string()));
    }
    return {};
}

Result<std::string> pick(std::string_view what, const std::string& value,
                         const std::vector<std::string_view>& known) {
    if (std::find(known.begin(), known.end(), value) != known.end()) {
        return value;
    }
    std::string list;
    for (auto k : known) {
        list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
    }
    return Error(ErrorCode::usage, fmt::format("unknown {} '{}'", what, value), "",
                 fmt::format("{}the {}s are: {}", did_you_mean(value, known), what, list));
}

int init(const InitArgs& args) {
    const Diagnostics diag;
    std::vector<std::string_view> lang_names;
    for (const auto& l : kLanguages) {
        lang_names.push_back(l.name);
    }
    auto lang = pick("language", args.lang, lang_names);
    auto role = pick("role", args.role, {kRoles.begin(), kRoles.end()});
    for (const auto* r : {&lang, &role}) {
        if (!*r) {
            diag.error(r->error());
            return kExitInvalid;
        }
    }
    const bool valid_name = !args.name.empty() &&
                            std::islower(static_cast<unsigned char>(args.name[0])) &&
                            std::all_of(args.name.begin(), args.name.end(), [](char c) {
                                return std::islower(static_cast<unsigned char>(c)) ||
                                       std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                            });
    if (!valid_name || args.name.size() > 64) {
        std::string fixed;
        for (char c : args.name) {
            fixed += std::isalnum(static_cast<unsigned char>(c))
                         ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                         : '_';
        }
        diag.error(
            Error(ErrorCode::usage, fmt::format("'{}' cannot name a project", args.name), "",
                  fmt::format("use lower-case letters, digits and '_', starting with a "
                              "letter (it names the component, crate, module or "
                              "package){}",
                              fixed.empty() || !std::isalpha(static_cast<unsigned char>(fixed[0]))
                                  ? std::string()
                                  : fmt::format(": '{}'", fixed))));
        return kExitInvalid;
    }
    auto home = torvyn_home();
    if (!home) {
        diag.error(home.error());
        return kExitInvalid;
    }
    const fs::path project = fs::path(args.dir) / args.name;
    std::error_code ec;
    if (fs::exists(project, ec) && !fs::is_empty(project, ec)) {
        diag.error(Error(ErrorCode::io, fmt::format("{} already exists", project.string()), "",
                         "choose another name, or remove it first"));
        return kExitInvalid;
    }
    const Project p{args.name, role.value(),
                    &*std::find_if(kLanguages.begin(), kLanguages.end(),
                                   [&](const Language& l) { return l.name == lang.value(); }),
                    home.value()};
    const fs::path templates = p.home / "sdk" / "templates";
    auto component =
        read_text(templates / p.lang->name / fmt::format("{}.{}", p.role, p.lang->ext));
    auto lines = read_text(templates / "harness" / "lines.c");
    auto print = read_text(templates / "harness" / "print.cpp");
    for (const auto* t : {&component, &lines, &print}) {
        if (!*t) {
            diag.error(t->error());
            return kExitInvalid;
        }
    }
    std::vector<std::pair<fs::path, std::string>> files = {
        {p.expand(p.lang->source_path), p.instantiate(component.value())},
        {"harness/lines.c", lines.value()},
        {"harness/print.cpp", print.value()},
        {"CMakeLists.txt", cmake_text(p)},
        {"Makefile", makefile_text(p)},
        {"Torvyn.toml", manifest_text(p)},
        {"README.md", readme_text(p)},
        {".gitignore", fmt::format("build/\n{}", p.lang->ignore)},
    };
    if (!p.lang->native_file.empty()) {
        files.emplace_back(std::string(p.lang->native_file), p.expand(p.lang->native_text));
    }
    for (const auto& [file, text] : files) {
        if (auto s = write_file(project / file, text); !s) {
            diag.error(s.error());
            return kExitInvalid;
        }
    }
    fmt::print("created {}: {} {} in {}\n  cd {} && make && torvyn run .\n", project.string(),
               p.role == "aggregator" ? "an" : "a", p.role, p.lang->name, project.string());
    return kExitOk;
}

}  // namespace

std::function<int()> define_init(CLI::App& command) {
    auto args = std::make_shared<InitArgs>();
    command.add_option("name", args->name, "Project (and component) name: lower-case, digits, _")
        ->required();
    command.add_option("--lang", args->lang, "c, cpp, rust, python, js or go")->required();
    command
        .add_option("--role", args->role, "source, processor, sink, filter, aggregator or router")
        ->required();
    command.add_option("--dir", args->dir, "Folder to create the project in (default: here)");
    return [args] { return init(*args); };
}

}  // namespace torvyn::cli

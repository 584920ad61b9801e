// The deployments table in SQLite (Debian's libsqlite3): WAL journal, full
// sync, one statement per change, so each change is its own transaction.
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "torvyn/serve/state.hpp"

namespace torvyn::serve {

namespace {

constexpr std::array<std::string_view, 4> kStatusNames = {"running", "stopped", "completed",
                                                          "failed"};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS deployments (
  name TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  digest TEXT NOT NULL,
  grants TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL,
  previous_source TEXT NOT NULL,
  previous_digest TEXT NOT NULL,
  generation INTEGER NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  checkpoint TEXT NOT NULL,
  earlier_runs TEXT NOT NULL,
  recoveries INTEGER NOT NULL
);
)sql";

constexpr const char* kColumns =
    "name, source, digest, grants, status, error, previous_source, previous_digest, generation, "
    "created, updated, checkpoint, earlier_runs, recoveries";

// A prepared statement, finalised when it goes (moved, never copied).
struct Statement {
    sqlite3_stmt* stmt = nullptr;
    Statement() = default;
    Statement(Statement&& other) noexcept : stmt(std::exchange(other.stmt, nullptr)) {}
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { sqlite3_finalize(stmt); }
};

std::string text_column(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
}

nlohmann::json json_column(sqlite3_stmt* s, int i, nlohmann::json otherwise) {
    auto j = nlohmann::json::parse(text_column(s, i), nullptr, false);
    return j.is_discarded() ? otherwise : j;
}

DeploymentRecord read_row(sqlite3_stmt* s) {
    DeploymentRecord r;
    r.name = text_column(s, 0);
    r.source = text_column(s, 1);
    r.digest = text_column(s, 2);
    r.grants = json_column(s, 3, nlohmann::json::object());
    r.status = status_from_name(text_column(s, 4)).value_or(DeploymentStatus::failed);
    r.error = text_column(s, 5);
    r.previous_source = text_column(s, 6);
    r.previous_digest = text_column(s, 7);
    r.generation = static_cast<std::uint32_t>(sqlite3_column_int64(s, 8));
    r.created = sqlite3_column_int64(s, 9);
    r.updated = sqlite3_column_int64(s, 10);
    r.checkpoint = json_column(s, 11, nlohmann::json::object());
    r.earlier_runs = json_column(s, 12, nlohmann::json::array());
    r.recoveries = static_cast<std::uint32_t>(sqlite3_column_int64(s, 13));
    return r;
}

}  // namespace

std::string_view status_name(DeploymentStatus status) {
    return kStatusNames.at(static_cast<std::size_t>(status));
}

std::optional<DeploymentStatus> status_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
        if (kStatusNames[i] == name) {
            return static_cast<DeploymentStatus>(i);
        }
    }
    return std::nullopt;
}

struct StateDb::Impl {
    sqlite3* db = nullptr;
    std::filesystem::path file;
    std::mutex mutex;

    [[nodiscard]] Error failure(std::string_view doing) const {
        return Error(ErrorCode::agent_state,
                     fmt::format("{} in {}: {}", doing, file.string(), sqlite3_errmsg(db)), "",
                     "check that the state directory is writable and not full (torvyn serve "
                     "--state-dir)");
    }

    Result<Statement> prepare(const std::string& sql) {
        Statement s;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s.stmt, nullptr) != SQLITE_OK) {
            return failure("preparing a query");
        }
        return s;
    }

    void bind(sqlite3_stmt* s, int i, const std::string& text) {
        sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }

    void bind_record(sqlite3_stmt* s, const DeploymentRecord& r) {
        bind(s, 1, r.name);
        bind(s, 2, r.source);
        bind(s, 3, r.digest);
        bind(s, 4, r.grants.dump());
        bind(s, 5, std::string(status_name(r.status)));
        bind(s, 6, r.error);
        bind(s, 7, r.previous_source);
        bind(s, 8, r.previous_digest);
        sqlite3_bind_int64(s, 9, r.generation);
        sqlite3_bind_int64(s, 10, r.created);
        sqlite3_bind_int64(s, 11, r.updated);
        // Guest text can hold invalid UTF-8 (an error message): replaced.
        bind(s, 12, r.checkpoint.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        bind(s, 13, r.earlier_runs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        sqlite3_bind_int64(s, 14, r.recoveries);
    }
};

StateDb::StateDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StateDb::~StateDb() {
    sqlite3_close(impl_->db);
}

Result<std::unique_ptr<StateDb>> StateDb::open(const std::filesystem::path& file) {
    auto impl = std::make_unique<Impl>();
    impl->file = file;
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    const int rc = sqlite3_open_v2(
        file.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
        nullptr);
    if (rc != SQLITE_OK) {
        Error e = impl->failure("opening the state database");
        sqlite3_close(impl->db);
        return e;
    }
    // Another agent on the same state directory waits a little, then fails
    // clearly rather than corrupting anything.
    sqlite3_busy_timeout(impl->db, 2000);
    for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", kSchema}) {
        if (sqlite3_exec(impl->db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
            Error e = impl->failure("setting up the state database");
            sqlite3_close(impl->db);
            return e;
        }
    }
    return std::unique_ptr<StateDb>(new StateDb(std::move(impl)));
}

Result<std::vector<DeploymentRecord>> StateDb::all() {
    std::lock_guard lock(impl_->mutex);
    auto s =
        impl_->prepare(fmt::format("SELECT {} FROM deployments ORDER BY created, name", kColumns));
    if (!s) {
        return s.error();
    }
    std::vector<DeploymentRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s->stmt)) == SQLITE_ROW) {
        out.push_back(read_row(s->stmt));
    }
    if (rc != SQLITE_DONE) {
        return impl_->failure("reading the deployments");
    }
    return out;
}

Result<std::optional<DeploymentRecord>> StateDb::find(const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(fmt::format("SELECT {} FROM deployments WHERE name = ?1", kColumns));
    if (!s) {
        return s.error();
    }
    impl_->bind(s->stmt, 1, name);
    const int rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_ROW) {
        return std::optional<DeploymentRecord>(read_row(s->stmt));
    }
    if (rc != SQLITE_DONE) {
        return impl_->failure("reading a deployment");
    }
    return std::optional<DeploymentRecord>();
}

std::optional<Error> StateDb::insert(const DeploymentRecord& record) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(fmt::format(
        "INSERT INTO deployments ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14)",
        kColumns));
    if (!s) {
        return s.error();
    }
    impl_->bind_record(s->stmt, record);
    const int rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_CONSTRAINT) {
        return Error(ErrorCode::deployment_exists,
                     fmt::format("a deployment named '{}' exists", record.name), "",
                     "upgrade it (torvyn upgrade NAME REF), or remove it first (torvyn stop "
                     "NAME --remove)");
    }
    if (rc != SQLITE_DONE) {
        return impl_->failure("recording a deployment");
    }
    return std::nullopt;
}

std::optional<Error> StateDb::update(const DeploymentRecord& record) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(
        "UPDATE deployments SET source = ?2, digest = ?3, grants = ?4, status = ?5, error = ?6, "
        "previous_source = ?7, previous_digest = ?8, generation = ?9, created = ?10, updated = "
        "?11, checkpoint = ?12, earlier_runs = ?13, recoveries = ?14 WHERE name = ?1");
    if (!s) {
        return s.error();
    }
    impl_->bind_record(s->stmt, record);
    if (sqlite3_step(s->stmt) != SQLITE_DONE) {
        return impl_->failure("updating a deployment");
    }
    if (sqlite3_changes(impl_->db) == 0) {
        return Error(ErrorCode::deployment_not_found,
                     fmt::format("no deployment named '{}'", record.name));
    }
    return std::nullopt;
}

std::optional<Error> StateDb::remove(const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("DELETE FROM deployments WHERE name = ?1");
    if (!s) {
        return s.error();
    }
    impl_->bind(s->stmt, 1, name);
    if (sqlite3_step(s->stmt) != SQLITE_DONE) {
        return impl_->failure("removing a deployment");
    }
    return std::nullopt;
}

}  // namespace torvyn::serve

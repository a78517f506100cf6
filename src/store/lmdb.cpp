// The RAII layer over LMDB: error mapping, transactions, cursors and map growth.
#include "store/lmdb.hpp"

#include "store/keys.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace audex::store {

namespace {
void check(int rc, std::string_view what, MDB_env* env = nullptr) {
    if (rc != MDB_SUCCESS) throw lmdb_error(rc, what, env);
}
MDB_env* env_of(MDB_cursor* c) {
    return mdb_txn_env(mdb_cursor_txn(c));
}
MDB_val to_val(std::string_view s) {
    return {s.size(), const_cast<char*>(s.data())};
}
}  // namespace

void keep_freed_memory() {
    // Blocks up to 32 MiB (glibc's largest threshold) come from the heap, not from mmap, and the
    // heap is trimmed only once 256 MiB at its top are free.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

lmdb_error::lmdb_error(int code, std::string_view what, MDB_env* env)
    : std::runtime_error(std::string(what) + ": " + mdb_strerror(code)), code(code), env(env) {}

cursor::cursor(MDB_txn* txn, table t) {
    check(mdb_cursor_open(txn, t, &handle_), "cursor open");
}
cursor::~cursor() {
    if (handle_) mdb_cursor_close(handle_);
}

bool cursor::move(MDB_cursor_op op) {
    int rc = mdb_cursor_get(handle_, &key_, &value_, op);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "cursor get");
    return true;
}

bool cursor::seek(std::string_view key) {
    if (key.empty()) return first();  // LMDB refuses empty keys; every key is >= ""
    key_ = to_val(key);
    return move(MDB_SET_RANGE);
}
bool cursor::first() {
    return move(MDB_FIRST);
}
bool cursor::last() {
    return move(MDB_LAST);
}
bool cursor::next() {
    return move(MDB_NEXT);
}
bool cursor::erase() {
    check(mdb_cursor_del(handle_, 0), "cursor erase", env_of(handle_));
    // A cursor that erased a table's last entry is no longer positioned: LMDB says EINVAL.
    int rc = mdb_cursor_get(handle_, &key_, &value_, MDB_GET_CURRENT);
    if (rc == MDB_NOTFOUND || rc == EINVAL) return false;
    check(rc, "cursor get", env_of(handle_));
    return true;
}

bool cursor::prev() {
    return move(MDB_PREV);
}
void cursor::append(std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    check(mdb_cursor_put(handle_, &k, &v, MDB_APPEND), "cursor append", env_of(handle_));
}

std::vector<std::uint64_t> key_prefixes(cursor c) {
    std::vector<std::uint64_t> out;
    for (bool ok = c.first(); ok && c.key().size() >= 8;) {
        out.push_back(read_u64(c.key()));
        if (out.back() == UINT64_MAX) break;
        ok = c.seek(u64_key(out.back() + 1));
    }
    return out;
}

transaction::transaction(MDB_txn* handle, environment& env,
                         std::shared_lock<std::shared_mutex> lock, transaction* parent)
    : handle_(handle),
      env_(&env),
      lock_(std::move(lock)),
      parent_(parent),
      read_only_(parent ? parent->read_only_ : false) {}

transaction::transaction(transaction&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      env_(other.env_),
      lock_(std::move(other.lock_)),
      parent_(other.parent_),
      read_only_(other.read_only_),
      deferred_(std::move(other.deferred_)),
      companions_(std::move(other.companions_)) {}

transaction::~transaction() {
    abort();
}

void transaction::abort() noexcept {
    // Nested companions before their parents, which LMDB requires; then this one.
    for (auto it = companions_.rbegin(); it != companions_.rend(); ++it)
        it->txn->abort();
    companions_.clear();
    if (handle_) mdb_txn_abort(std::exchange(handle_, nullptr));
    if (lock_.owns_lock()) lock_.unlock();
}

void transaction::write_deferred() {
    // This transaction's deferred writes may begin companions; theirs come after.
    for (auto& [owner, d] : deferred_)
        d->write(*this);
    deferred_.clear();
    for (std::size_t i = 0; i < companions_.size(); ++i)
        companions_[i].txn->write_deferred();
}

void transaction::commit() {
    if (!parent_) write_deferred();
    // Companions first: what this transaction commits (the catalog's entry for what a partition
    // holds) is never durable before what it refers to.
    for (auto& c : companions_)
        c.txn->commit();
    companions_.clear();
    auto* env = mdb_txn_env(handle_);
    int rc = mdb_txn_commit(std::exchange(handle_, nullptr));
    if (lock_.owns_lock()) lock_.unlock();
    check(rc, "commit", env);
}

transaction& transaction::with(environment& env, std::shared_ptr<const void> keep) const {
    if (&env == env_) return const_cast<transaction&>(*this);
    for (auto& c : companions_)
        if (c.env == &env) return *c.txn;
    std::unique_ptr<transaction> txn;
    if (read_only_) {
        txn = std::make_unique<transaction>(env.read());
    } else if (!parent_) {
        txn = std::make_unique<transaction>(env.begin(0));
    } else {
        auto& outer = parent_->with(env, keep);
        MDB_txn* child;
        check(mdb_txn_begin(env.handle(), outer.handle_, 0, &child), "begin nested", env.handle());
        txn.reset(new transaction(child, env, {}, &outer));
    }
    companions_.push_back({&env, std::move(keep), std::move(txn)});
    return *companions_.back().txn;
}

environment* transaction::environment_of(MDB_env* handle) {
    if (handle == env_->handle()) return env_;
    for (auto& c : companions_)
        if (auto* e = c.txn->environment_of(handle)) return e;
    return nullptr;
}

transaction::marks transaction::deferred_marks() {
    marks out;
    std::vector<std::size_t> own;
    for (auto& [owner, d] : deferred_)
        own.push_back(d->mark());
    out.emplace_back(this, std::move(own));
    for (auto& c : companions_) {
        auto more = c.txn->deferred_marks();
        out.insert(out.end(), more.begin(), more.end());
    }
    return out;
}

void transaction::undo_deferred(const marks& m) {
    // Companions begun since the marks were taken gathered nothing that stays.
    auto marked = [&](transaction* t) {
        return std::find_if(m.begin(), m.end(), [&](auto& x) { return x.first == t; });
    };
    auto it = marked(this);
    auto& own = it->second;
    deferred_.erase(deferred_.begin() + std::ptrdiff_t(own.size()), deferred_.end());
    for (std::size_t i = 0; i < own.size(); ++i)
        deferred_[i].second->undo(own[i]);
    for (auto& c : companions_) {
        if (marked(c.txn.get()) != m.end())
            c.txn->undo_deferred(m);
        else
            c.txn->deferred_.clear();
    }
}

std::optional<std::string_view> transaction::get(table t, std::string_view key) const {
    MDB_val k = to_val(key), v;
    int rc = mdb_get(handle_, t, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, "get");
    return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

void transaction::put(table t, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    check(mdb_put(handle_, t, &k, &v, 0), "put", mdb_txn_env(handle_));
}

void transaction::append(table t, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    check(mdb_put(handle_, t, &k, &v, MDB_APPEND), "append", mdb_txn_env(handle_));
}

bool transaction::insert(table t, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(handle_, t, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return false;
    check(rc, "insert", mdb_txn_env(handle_));
    return true;
}

bool transaction::erase(table t, std::string_view key) {
    MDB_val k = to_val(key);
    int rc = mdb_del(handle_, t, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "erase", mdb_txn_env(handle_));
    return true;
}

void transaction::clear(table t) {
    check(mdb_drop(handle_, t, 0), "clear", mdb_txn_env(handle_));
}

void transaction::drop(table t) {
    check(mdb_drop(handle_, t, 1), "drop", mdb_txn_env(handle_));
}

std::size_t transaction::entries(table t) const {
    MDB_stat stat;
    check(mdb_stat(handle_, t, &stat), "stat");
    return stat.ms_entries;
}

void transaction::nested(const std::function<void(transaction&)>& body) {
    MDB_txn* child;
    check(mdb_txn_begin(mdb_txn_env(handle_), handle_, 0, &child), "begin nested",
          mdb_txn_env(handle_));
    transaction t(child, *env_, {}, this);
    // What the outermost transactions' deferred writes held before, to take back a failure's part.
    auto* root = this;
    while (root->parent_)
        root = root->parent_;
    auto marks = root->deferred_marks();
    try {
        body(t);
        t.commit();
    } catch (...) {
        t.abort();
        root->undo_deferred(marks);
        throw;
    }
}

environment::environment(const std::filesystem::path& directory, environment_options options)
    : options_(options) {
    std::filesystem::create_directories(directory);
    check(mdb_env_create(&env_), "env create");
    try {
        check(mdb_env_set_maxdbs(env_, options.max_tables), "set maxdbs");
        check(mdb_env_set_maxreaders(env_, options.max_readers), "set maxreaders");
        // The map starts at the larger of the configured size and what the file already holds.
        std::uint64_t size = options.initial_map_size;
        auto file = directory / "data.mdb";
        if (std::filesystem::exists(file))
            size = std::max<std::uint64_t>(size, std::filesystem::file_size(file));
        check(mdb_env_set_mapsize(env_, size), "set mapsize");
        // MDB_NOTLS: read transactions are not bound to threads, since coroutines move between
        // them.
        check(mdb_env_open(env_, directory.c_str(), MDB_NOTLS, 0600), "env open");
        clear_stale_readers();
    } catch (...) {
        mdb_env_close(env_);
        throw;
    }
}

std::size_t environment::clear_stale_readers() {
    int cleared = 0;
    check(mdb_reader_check(env_, &cleared), "reader check");
    return std::size_t(cleared);
}

environment::~environment() {
    mdb_env_close(env_);
}

table environment::open_table(const std::string& name) {
    return write([&](transaction& txn) {
        table t;
        check(mdb_dbi_open(txn.handle(), name.c_str(), MDB_CREATE, &t), "open table " + name);
        return t;
    });
}

std::filesystem::path environment::directory() const {
    const char* path = nullptr;
    check(mdb_env_get_path(env_, &path), "env path");
    return path;
}

bool environment::has_table(const std::string& name) const {
    auto txn = read();
    table t;
    int rc = mdb_dbi_open(txn.handle(), name.c_str(), 0, &t);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "find table " + name);
    return true;
}

std::unique_lock<std::shared_mutex> environment::resize_lock() const {
    ++resizes_waiting_;
    std::unique_lock lock(resize_mutex_);
    {
        std::lock_guard gate(gate_mutex_);
        --resizes_waiting_;
    }
    gate_.notify_all();
    return lock;
}

transaction environment::begin(unsigned flags) const {
    constexpr auto gate_wait = std::chrono::milliseconds(50);
    for (;;) {
        if (resizes_waiting_.load()) {
            std::unique_lock gate(gate_mutex_);
            gate_.wait_for(gate, gate_wait, [&] { return resizes_waiting_.load() == 0; });
        }
        std::shared_lock lock(resize_mutex_);
        MDB_txn* txn;
        int rc = mdb_txn_begin(env_, nullptr, flags, &txn);
        if (rc == MDB_SUCCESS)
            return transaction(txn, const_cast<environment&>(*this), std::move(lock));
        if (rc != MDB_MAP_RESIZED) check(rc, "begin transaction");
        // Another process (the `audex user` command) grew the map: adopt its size, which LMDB
        // allows only while no transaction of this process is active.
        lock.unlock();
        auto exclusive = resize_lock();
        check(mdb_env_set_mapsize(env_, 0), "adopt map size");
    }
}

transaction environment::read() const {
    auto txn = begin(MDB_RDONLY);
    txn.read_only_ = true;
    return txn;
}

std::uint64_t environment::map_size() const {
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    return info.me_mapsize;
}

void environment::grow() {
    auto lock = resize_lock();
    std::uint64_t size = map_size();
    if (size >= options_.max_map_size) throw store_full("the store reached its maximum size");
    std::uint64_t next = std::min(size * 2, options_.max_map_size);
    check(mdb_env_set_mapsize(env_, next), "grow map");
    spdlog::info("store map grown to {} MiB", next >> 20);
}

}  // namespace audex::store

// A thin RAII layer over LMDB: one environment, named tables, read and write transactions and
// cursors. Writes are closures so that a full map can be grown and the write retried.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace audex::store {

// An LMDB failure that is not an expected outcome (not found, key exists).
struct lmdb_error : std::runtime_error {
    int code;
    MDB_env* env;  // the environment whose transaction failed, where known (a full map)
    lmdb_error(int code, std::string_view what, MDB_env* env = nullptr);
};

// The map cannot grow any further (the configured maximum or the disk is reached).
struct store_full : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct environment_options {
    std::uint64_t initial_map_size = 64ull << 20;  // bytes; doubled whenever a write fills it
    std::uint64_t max_map_size = 1ull << 40;       // bytes; a write past it fails with store_full
    unsigned max_tables = 64;
    unsigned max_readers = 1024;
};

using table = MDB_dbi;

class environment;
class transaction;

// Writes that the calls of one write transaction gather and make once, just before it commits:
// an index segment built from the records of every request of a group commit, say.
class deferred_write {
  public:
    virtual ~deferred_write() = default;
    virtual void write(transaction& txn) = 0;
    // How much it has gathered, and going back to such a mark: a nested transaction that fails
    // takes back what it gathered.
    virtual std::size_t mark() const = 0;
    virtual void undo(std::size_t mark) = 0;
};

class cursor {
  public:
    cursor(MDB_txn* txn, table t);
    ~cursor();
    cursor(cursor&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), key_(other.key_), value_(other.value_) {}
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;

    // Positions at the first key >= `key`; false when there is none.
    bool seek(std::string_view key);
    bool first();
    bool last();
    bool next();
    bool prev();
    // Removes the entry the cursor is at (in a write transaction) and moves to the one after it;
    // false when there is none.
    bool erase();
    // Adds an entry whose key comes after every key of the table (in a write transaction) and
    // stays at it, so that the next append does not search for the table's end again.
    void append(std::string_view key, std::string_view value);
    std::string_view key() const { return {static_cast<const char*>(key_.mv_data), key_.mv_size}; }
    std::string_view value() const {
        return {static_cast<const char*>(value_.mv_data), value_.mv_size};
    }

  private:
    bool move(MDB_cursor_op op);
    MDB_cursor* handle_ = nullptr;
    MDB_val key_{}, value_{};
};

// A transaction; values returned point into the memory map and live until it ends.
class transaction {
  public:
    transaction(transaction&& other) noexcept;
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    std::optional<std::string_view> get(table t, std::string_view key) const;
    cursor open_cursor(table t) const { return cursor(handle_, t); }
    // Writes; only in a write transaction.
    void put(table t, std::string_view key, std::string_view value);
    // Puts a key greater than every key of the table, faster than put().
    void append(table t, std::string_view key, std::string_view value);
    // False when the key exists already (the value is left as it was).
    bool insert(table t, std::string_view key, std::string_view value);
    bool erase(table t, std::string_view key);
    // Removes every entry of the table.
    void clear(table t);
    // Removes the table itself; its handle is not to be used again.
    void drop(table t);
    // The number of keys in `t`, read from the table's header.
    std::size_t entries(table t) const;
    // Runs `body` in a nested write transaction: its changes are kept when it returns and undone
    // when it throws (the exception propagates). What it gathers in deferred writes belongs to
    // the outermost transaction, and is taken back when it throws.
    void nested(const std::function<void(transaction&)>& body);
    // The deferred write that `owner` gathers in this write transaction (its outermost one),
    // made by `make` on first use; written just before the commit, in the order of first use.
    template <class T, class Make>
    T& deferred(const void* owner, Make&& make) {
        if (parent_) return parent_->deferred<T>(owner, std::forward<Make>(make));
        for (auto& [o, d] : deferred_)
            if (o == owner) return static_cast<T&>(*d);
        return static_cast<T&>(*deferred_.emplace_back(owner, make()).second);
    }
    // A transaction of another environment `env` that goes with this one: a read transaction
    // beside a read transaction, begun on first use; beside a write transaction a write
    // transaction, nested as this one is nested, so that a nested transaction that fails takes its
    // writes in `env` back too, and committed just before this one commits (after the deferred
    // writes of both). `keep` is held until then (the partition that owns `env`). This
    // transaction itself for its own environment. Writers of several environments take them in
    // one order: the one they begin with (the catalog) first. Reads that take a transaction as
    // const take their companions too: a companion is part of the transaction, not a change of it.
    transaction& with(environment& env, std::shared_ptr<const void> keep = nullptr) const;
    MDB_txn* handle() const { return handle_; }

  private:
    friend class environment;
    transaction(MDB_txn* handle, environment& env, std::shared_lock<std::shared_mutex> lock,
                transaction* parent = nullptr);
    void commit();
    void abort() noexcept;
    // Runs the deferred writes of this transaction and of its companions.
    void write_deferred();
    // Marks of the deferred writes of this root and its companions, and going back to them.
    using marks = std::vector<std::pair<transaction*, std::vector<std::size_t>>>;
    marks deferred_marks();
    void undo_deferred(const marks& m);
    // The environment of this transaction or of a companion, by LMDB's handle.
    environment* environment_of(MDB_env* handle);

    struct companion {
        environment* env;
        std::shared_ptr<const void> keep;
        std::unique_ptr<transaction> txn;
    };
    MDB_txn* handle_;
    environment* env_;
    std::shared_lock<std::shared_mutex> lock_;
    transaction* parent_;
    bool read_only_ = false;
    std::vector<std::pair<const void*, std::unique_ptr<deferred_write>>> deferred_;
    mutable std::vector<companion> companions_;
};

// The distinct first 8 bytes of the keys that `c` reads, as big-endian numbers (keys.hpp),
// ascending: one seek per number.
std::vector<std::uint64_t> key_prefixes(cursor c);

// Has the C library keep the memory that a write transaction frees for the next one instead of
// handing it back to the kernel: LMDB allocates a transaction's dirty pages on the heap and frees
// them when it commits, as the content index does with the segment it builds, and with glibc's
// default thresholds every commit faulted that memory in again (commits of 16,000 records took
// about half as much CPU time again per record as commits of 1,000). A process that writes calls it
// once, at start.
void keep_freed_memory();

class environment {
  public:
    environment(const std::filesystem::path& directory, environment_options options = {});
    ~environment();
    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;

    // Opens (creating if needed) a named table; call before serving, from one thread.
    table open_table(const std::string& name);

    // A short read transaction; never hold one across a co_await.
    transaction read() const;

    // Runs `body` in a write transaction and commits it. When the map is full, the transaction is
    // aborted, the map grown and `body` run again, so `body` must have no other side effects until
    // it returns. An exception from `body` aborts the transaction and propagates.
    template <class Body>
    auto write(Body&& body) -> decltype(body(std::declval<transaction&>())) {
        for (;;) {
            auto txn = begin(0);
            environment* full = this;
            try {
                if constexpr (std::is_void_v<decltype(body(txn))>) {
                    body(txn);
                    txn.commit();
                    return;
                } else {
                    auto result = body(txn);
                    txn.commit();
                    return result;
                }
            } catch (const lmdb_error& e) {
                if (e.code != MDB_MAP_FULL) throw;
                if (auto* other = txn.environment_of(e.env)) full = other;
            }
            txn.abort();
            full->grow();
        }
    }

    std::uint64_t map_size() const;
    MDB_env* handle() const { return env_; }
    std::filesystem::path directory() const;
    const environment_options& options() const { return options_; }
    // Whether the table `name` exists.
    bool has_table(const std::string& name) const;

    // Frees the reader slots of processes that died in a read transaction (kill -9 of an
    // `audex` command beside the server): each holds pages from reuse, and the slots run out.
    // Done when the environment opens and, by the server, now and then. Returns how many.
    std::size_t clear_stale_readers();

  private:
    friend class transaction;
    transaction begin(unsigned flags) const;
    void grow();
    // The exclusive hold of resize_mutex_ for a resize. A reader-preferring lock would let a steady
    // stream of overlapping readers keep it from a resize for ever: while one waits, new
    // transactions wait at a gate first, for at most `gate_wait` (so that a thread that begins a
    // transaction while it holds one still goes on, and lets the resize through when it ends).
    std::unique_lock<std::shared_mutex> resize_lock() const;

    MDB_env* env_ = nullptr;
    environment_options options_;
    // Held shared by every transaction, exclusively while the map is resized (LMDB requires that no
    // transaction is active in the process then).
    mutable std::shared_mutex resize_mutex_;
    mutable std::mutex gate_mutex_;
    mutable std::condition_variable gate_;
    mutable std::atomic<unsigned> resizes_waiting_{0};
};

}  // namespace audex::store

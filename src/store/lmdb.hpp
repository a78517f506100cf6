// A thin RAII layer over LMDB: one environment, named tables, read and write transactions and
// cursors. Writes are closures so that a full map can be grown and the write retried.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace audex::store {

// An LMDB failure that is not an expected outcome (not found, key exists).
struct lmdb_error : std::runtime_error {
    int code;
    lmdb_error(int code, std::string_view what);
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

class cursor {
  public:
    cursor(MDB_txn* txn, table t);
    ~cursor();
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;

    // Positions at the first key >= `key`; false when there is none.
    bool seek(std::string_view key);
    bool first();
    bool last();
    bool next();
    bool prev();
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
    // False when the key exists already (the value is left as it was).
    bool insert(table t, std::string_view key, std::string_view value);
    bool erase(table t, std::string_view key);
    // Erases every key of the table.
    void clear(table t);
    // Runs `body` in a nested write transaction: its changes are kept when it returns and undone
    // when it throws (the exception propagates).
    void nested(const std::function<void(transaction&)>& body);
    MDB_txn* handle() const { return handle_; }

  private:
    friend class environment;
    transaction(MDB_txn* handle, std::shared_lock<std::shared_mutex> lock);
    void commit();
    void abort() noexcept;
    MDB_txn* handle_;
    std::shared_lock<std::shared_mutex> lock_;
};

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
            }
            txn.abort();
            grow();
        }
    }

    std::uint64_t map_size() const;
    MDB_env* handle() const { return env_; }

  private:
    transaction begin(unsigned flags) const;
    void grow();

    MDB_env* env_ = nullptr;
    environment_options options_;
    // Held shared by every transaction, exclusively while the map is resized (LMDB requires that no
    // transaction is active in the process then).
    mutable std::shared_mutex resize_mutex_;
};

}  // namespace audex::store

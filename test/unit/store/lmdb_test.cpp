// Tests of store/lmdb.hpp: put/get/insert/erase, cursors, nested transactions, failed writes,
// snapshots, map growth (also under concurrent readers), the maximum map size, and reopening.
#include "store/lmdb.hpp"

#include "store/keys.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace audex::store;
using audex::store::test::temp_dir;

namespace {

constexpr std::uint64_t mib = 1ull << 20;

std::optional<std::string> read_value(environment& env, table t, std::string_view key) {
    auto txn = env.read();
    auto v = txn.get(t, key);
    if (!v) return std::nullopt;
    return std::string(*v);
}

// All keys of a table, in order.
std::vector<std::string> keys(environment& env, table t) {
    std::vector<std::string> out;
    auto txn = env.read();
    auto c = txn.open_cursor(t);
    for (bool ok = c.first(); ok; ok = c.next())
        out.emplace_back(c.key());
    return out;
}

std::string value_of(std::size_t i, std::size_t size) {
    std::string v = std::to_string(i);
    v.resize(size, char('a' + i % 26));
    return v;
}

std::string key_of(std::size_t i) {
    return u64_key(i);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_lmdb)

// The reader slots that LMDB lists, one line each after its header.
static int listed_readers(MDB_env* env) {
    int lines = 0;
    mdb_reader_list(
        env,
        [](const char*, void* count) {
            ++*static_cast<int*>(count);
            return 0;
        },
        &lines);
    return lines - 1;
}

BOOST_AUTO_TEST_CASE(the_reader_slot_of_a_process_killed_in_a_read_is_freed) {
    test::temp_dir dir;
    environment env(dir.path);  // the server, open all along
    int ready[2];
    BOOST_REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {  // another process holds a read transaction until it is killed
        environment other(dir.path);
        auto txn = other.read();
        char c = 'r';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        for (;;)
            pause();
    }
    char c = 0;
    BOOST_REQUIRE(read(ready[0], &c, 1) == 1);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    BOOST_TEST(listed_readers(env.handle()) == 1);
    BOOST_TEST(env.clear_stale_readers() == 1u);
    BOOST_TEST(listed_readers(env.handle()) == 0);
}

BOOST_AUTO_TEST_CASE(put_get_insert_erase) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) {
        BOOST_TEST(!txn.get(t, "a").has_value());
        txn.put(t, "a", "1");
        BOOST_TEST(*txn.get(t, "a") == "1");  // a write transaction sees its own writes
        txn.put(t, "a", "2");                 // put overwrites
        BOOST_TEST(*txn.get(t, "a") == "2");
        BOOST_TEST(txn.insert(t, "b", "x"));
        BOOST_TEST(!txn.insert(t, "b", "y"));  // insert keeps the value already there
        BOOST_TEST(*txn.get(t, "b") == "x");
        BOOST_TEST(!txn.insert(t, "a", "3"));
        txn.put(t, "empty", "");
        txn.put(t, "c", "gone");
        BOOST_TEST(txn.erase(t, "c"));
        BOOST_TEST(!txn.erase(t, "c"));
        BOOST_TEST(!txn.erase(t, "never"));
        std::string binary("\0\xff\0", 3);
        txn.put(t, binary, binary);
    });
    BOOST_TEST(*read_value(env, t, "a") == "2");
    BOOST_TEST(*read_value(env, t, "b") == "x");
    BOOST_TEST(!read_value(env, t, "c").has_value());
    auto empty = read_value(env, t, "empty");
    BOOST_TEST_REQUIRE(empty.has_value());  // an empty value is a value
    BOOST_TEST(empty->empty());
    std::string binary("\0\xff\0", 3);
    BOOST_TEST(*read_value(env, t, binary) == binary);
}

BOOST_AUTO_TEST_CASE(tables_are_separate) {
    temp_dir dir;
    environment env(dir.path);
    auto a = env.open_table("a"), b = env.open_table("b");
    BOOST_TEST(a != b);
    BOOST_TEST(env.open_table("a") == a);  // opening again gives the same table
    env.write([&](transaction& txn) { txn.put(a, "k", "in a"); });
    BOOST_TEST(*read_value(env, a, "k") == "in a");
    BOOST_TEST(!read_value(env, b, "k").has_value());
}

BOOST_AUTO_TEST_CASE(write_returns_the_body_result) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    int n = env.write([&](transaction& txn) {
        txn.put(t, "k", "v");
        return 42;
    });
    BOOST_TEST(n == 42);
    BOOST_TEST(*read_value(env, t, "k") == "v");
}

BOOST_AUTO_TEST_CASE(writes_in_a_read_transaction_fail) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    auto txn = env.read();
    try {
        txn.put(t, "k", "v");
        BOOST_FAIL("put in a read transaction did not throw");
    } catch (const lmdb_error& e) {
        BOOST_TEST(e.code == EACCES);
    }
}

BOOST_AUTO_TEST_CASE(cursor_moves) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    {
        auto txn = env.read();
        auto c = txn.open_cursor(t);
        BOOST_TEST(!c.first());  // an empty table
        BOOST_TEST(!c.last());
        BOOST_TEST(!c.seek("a"));
    }
    env.write([&](transaction& txn) {
        for (auto k : {"e", "a", "d", "b"})
            txn.put(t, k, std::string("v") + k);
    });
    auto txn = env.read();
    auto c = txn.open_cursor(t);
    BOOST_TEST_REQUIRE(c.seek("c"));  // the first key >= "c"
    BOOST_TEST(c.key() == "d");
    BOOST_TEST(c.value() == "vd");
    BOOST_TEST_REQUIRE(c.next());
    BOOST_TEST(c.key() == "e");
    BOOST_TEST(!c.next());

    BOOST_TEST_REQUIRE(c.seek("b"));  // an exact hit
    BOOST_TEST(c.key() == "b");
    BOOST_TEST_REQUIRE(c.prev());
    BOOST_TEST(c.key() == "a");
    BOOST_TEST(!c.prev());

    BOOST_TEST(!c.seek("f"));  // past the end
    BOOST_TEST(c.seek(""));
    BOOST_TEST(c.key() == "a");

    BOOST_TEST_REQUIRE(c.last());
    BOOST_TEST(c.key() == "e");
    BOOST_TEST_REQUIRE(c.prev());
    BOOST_TEST(c.key() == "d");
    BOOST_TEST_REQUIRE(c.first());
    BOOST_TEST(c.key() == "a");
    BOOST_TEST(c.value() == "va");
}

BOOST_AUTO_TEST_CASE(cursor_erases_runs_across_pages) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) {
        for (std::uint32_t i = 0; i < 20000; ++i)
            txn.put(t, u64_key(i), std::string(40, 'v'));
    });
    // Erase [100, 19000) by moving one cursor along, then the last key alone.
    env.write([&](transaction& txn) {
        auto c = txn.open_cursor(t);
        bool ok = c.seek(u64_key(100));
        while (ok && read_u64(c.key()) < 19000)
            ok = c.erase();
        BOOST_TEST_REQUIRE(ok);
        BOOST_TEST(read_u64(c.key()) == 19000u);
        BOOST_TEST(c.last());
        BOOST_TEST(!c.erase());
    });
    auto left = keys(env, t);
    BOOST_TEST_REQUIRE(left.size() == 100u + 999u);
    BOOST_TEST(read_u64(left[99]) == 99u);
    BOOST_TEST(read_u64(left[100]) == 19000u);
    BOOST_TEST(read_u64(left.back()) == 19998u);
}

BOOST_AUTO_TEST_CASE(cursor_erases_a_tables_only_entry) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) {
        txn.put(t, "only", "v");
        auto c = txn.open_cursor(t);
        BOOST_TEST_REQUIRE(c.first());
        BOOST_TEST(!c.erase());
    });
    BOOST_TEST(keys(env, t).empty());
}

BOOST_AUTO_TEST_CASE(append_takes_only_keys_after_the_last) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) {
        txn.append(t, "b", "1");
        txn.append(t, "c", "2");
    });
    BOOST_CHECK_THROW(env.write([&](transaction& txn) { txn.append(t, "a", "0"); }), lmdb_error);
    BOOST_TEST((keys(env, t) == std::vector<std::string>{"b", "c"}));
}

// A cursor's appends, many to a nested transaction (across page splits), and one of a key that is
// not after the last.
BOOST_AUTO_TEST_CASE(cursor_appends_after_the_last_key) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) { txn.put(t, key_of(0), value_of(0, 10)); });
    env.write([&](transaction& txn) {
        txn.nested([&](transaction& inner) {
            auto c = inner.open_cursor(t);
            for (std::size_t i = 1; i < 5000; ++i)
                c.append(key_of(i), value_of(i, 1 + i % 300));
        });
    });
    auto all = keys(env, t);
    BOOST_TEST_REQUIRE(all.size() == 5000u);
    for (std::size_t i = 0; i < all.size(); ++i)
        BOOST_TEST_REQUIRE(all[i] == key_of(i));
    BOOST_TEST(*read_value(env, t, key_of(4321)) == value_of(4321, 1 + 4321 % 300));
    BOOST_CHECK_THROW(env.write([&](transaction& txn) {
        auto c = txn.open_cursor(t);
        c.append(key_of(5000), "x");
        c.append(key_of(42), "y");
    }),
                      lmdb_error);
    BOOST_TEST(keys(env, t).size() == 5000u);
    BOOST_TEST(*read_value(env, t, key_of(42)) == value_of(42, 1 + 42 % 300));
}

BOOST_AUTO_TEST_CASE(cursor_order_is_numeric_for_integer_keys) {
    temp_dir dir;
    environment env(dir.path);
    auto u = env.open_table("u"), s = env.open_table("s");
    const std::uint64_t unsigned_values[] = {256, 1, 0, ~0ull, 65536, 255, 1ull << 63};
    const std::int64_t signed_values[] = {3, -1, 0, INT64_MIN, INT64_MAX, -256, 255};
    env.write([&](transaction& txn) {
        for (auto v : unsigned_values)
            txn.put(u, u64_key(v), {});
        for (auto v : signed_values) {
            std::string k;
            append_i64(k, v);
            txn.put(s, k, {});
        }
    });
    std::vector<std::uint64_t> got_u;
    for (auto& k : keys(env, u))
        got_u.push_back(read_u64(k));
    std::vector<std::uint64_t> want_u = {0, 1, 255, 256, 65536, 1ull << 63, ~0ull};
    BOOST_TEST(got_u == want_u, boost::test_tools::per_element());
    std::vector<std::int64_t> got_s;
    for (auto& k : keys(env, s))
        got_s.push_back(read_i64(k));
    std::vector<std::int64_t> want_s = {INT64_MIN, -256, -1, 0, 3, 255, INT64_MAX};
    BOOST_TEST(got_s == want_s, boost::test_tools::per_element());
}

// Gathers keys and puts them all at the commit; counts its writes.
struct gathered_keys final : deferred_write {
    table t;
    int* writes;
    std::vector<std::string> keys;
    gathered_keys(table t, int* writes) : t(t), writes(writes) {}
    void write(transaction& txn) override {
        ++*writes;
        for (auto& k : keys)
            txn.put(t, k, "1");
    }
    std::size_t mark() const override { return keys.size(); }
    void undo(std::size_t mark) override { keys.resize(mark); }
};

BOOST_AUTO_TEST_CASE(deferred_writes_run_once_at_the_commit) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    int writes = 0;
    int owner = 0, other = 0;
    auto gather = [&](transaction& txn, const void* who, std::string key) {
        txn.deferred<gathered_keys>(who,
                                    [&] { return std::make_unique<gathered_keys>(t, &writes); })
            .keys.push_back(std::move(key));
    };
    env.write([&](transaction& txn) {
        gather(txn, &owner, "a");
        txn.nested([&](transaction& child) {
            gather(child, &owner, "b");
            child.nested([&](transaction& grandchild) { gather(grandchild, &owner, "c"); });
        });
        // A failed child takes back what it gathered, and drops what it began.
        BOOST_CHECK_THROW(txn.nested([&](transaction& child) {
            gather(child, &owner, "undone");
            gather(child, &other, "undone too");
            throw std::runtime_error("fails");
        }),
                          std::runtime_error);
        gather(txn, &owner, "d");
        BOOST_TEST(!txn.get(t, "a").has_value());  // nothing written before the commit
    });
    BOOST_TEST(writes == 1);
    std::vector<std::string> want = {"a", "b", "c", "d"};
    BOOST_TEST(keys(env, t) == want, boost::test_tools::per_element());
    // A write that throws writes nothing of what it gathered.
    BOOST_CHECK_THROW(env.write([&](transaction& txn) {
        gather(txn, &owner, "e");
        throw std::runtime_error("fails");
    }),
                      std::runtime_error);
    BOOST_TEST(writes == 1);
    BOOST_TEST(keys(env, t) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nested_keeps_or_undoes) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) { txn.put(t, "before", "1"); });
    env.write([&](transaction& txn) {
        txn.put(t, "outer", "1");
        txn.nested([&](transaction& child) {
            BOOST_TEST(child.get(t, "outer").has_value());  // the child sees its parent's writes
            child.put(t, "kept", "1");
            child.nested([&](transaction& grandchild) { grandchild.put(t, "deep", "1"); });
        });
        BOOST_TEST(txn.get(t, "kept").has_value());
        BOOST_TEST(txn.get(t, "deep").has_value());
        BOOST_CHECK_THROW(txn.nested([&](transaction& child) {
            child.put(t, "undone", "1");
            child.put(t, "outer", "changed");
            child.erase(t, "before");
            child.erase(t, "kept");
            throw std::runtime_error("fails");
        }),
                          std::runtime_error);
        BOOST_TEST(!txn.get(t, "undone").has_value());
        BOOST_TEST(*txn.get(t, "outer") == "1");
        BOOST_TEST(txn.get(t, "before").has_value());
        BOOST_TEST(txn.get(t, "kept").has_value());
        // A failure deep down undoes only the innermost level.
        txn.nested([&](transaction& child) {
            child.put(t, "middle", "1");
            try {
                child.nested([&](transaction& grandchild) {
                    grandchild.put(t, "inner", "1");
                    throw std::runtime_error("fails");
                });
            } catch (const std::runtime_error&) {
            }
        });
        BOOST_TEST(txn.get(t, "middle").has_value());
        BOOST_TEST(!txn.get(t, "inner").has_value());
        // The parent goes on writing after a failed child.
        txn.put(t, "after", "1");
    });
    std::vector<std::string> want = {"after", "before", "deep", "kept", "middle", "outer"};
    BOOST_TEST(keys(env, t) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_companion_nests_commits_and_undoes_with_its_holder) {
    temp_dir dir;
    environment catalog(dir.path / "catalog"), partition(dir.path / "partition");
    auto c = catalog.open_table("c");
    auto p = partition.open_table("p");
    int writes = 0;
    int owner = 0;
    catalog.write([&](transaction& txn) {
        txn.put(c, "outer", "1");
        auto& other = txn.with(partition);
        BOOST_TEST(&txn.with(partition) == &other);  // one companion per environment
        BOOST_TEST(&txn.with(catalog) == &txn);
        other.put(p, "outer", "1");
        txn.nested([&](transaction& child) {
            auto& nested = child.with(partition);
            BOOST_TEST(nested.get(p, "outer").has_value());  // sees its holder's writes
            nested.put(p, "kept", "1");
            nested
                .deferred<gathered_keys>(
                    &owner, [&] { return std::make_unique<gathered_keys>(p, &writes); })
                .keys.push_back("deferred");
        });
        // A failed nested transaction takes back its writes and what it gathered in both.
        BOOST_CHECK_THROW(txn.nested([&](transaction& child) {
            child.put(c, "undone", "1");
            auto& nested = child.with(partition);
            nested.put(p, "undone", "1");
            nested.erase(p, "kept");
            nested
                .deferred<gathered_keys>(
                    &owner, [&] { return std::make_unique<gathered_keys>(p, &writes); })
                .keys.push_back("deferred undone");
            throw std::runtime_error("fails");
        }),
                          std::runtime_error);
        BOOST_TEST(other.get(p, "kept").has_value());
        BOOST_TEST(!other.get(p, "undone").has_value());
        BOOST_TEST(!other.get(p, "deferred").has_value());  // written at the commit
        // Nothing is durable in the partition before the holder commits.
        BOOST_TEST(!read_value(partition, p, "outer").has_value());
    });
    BOOST_TEST(writes == 1);
    std::vector<std::string> want = {"deferred", "kept", "outer"};
    BOOST_TEST(keys(partition, p) == want, boost::test_tools::per_element());
    BOOST_TEST(!read_value(catalog, c, "undone").has_value());
    // A holder that throws commits nothing in either.
    BOOST_CHECK_THROW(catalog.write([&](transaction& txn) {
        txn.with(partition).put(p, "never", "1");
        throw std::runtime_error("fails");
    }),
                      std::runtime_error);
    BOOST_TEST(!read_value(partition, p, "never").has_value());
    // A read transaction's companion reads a snapshot of its own.
    auto snapshot = catalog.read();
    auto& read = snapshot.with(partition);
    partition.write([&](transaction& txn) { txn.put(p, "later", "1"); });
    BOOST_TEST(!read.get(p, "later").has_value());
    BOOST_TEST(read.get(p, "outer").has_value());
}

BOOST_AUTO_TEST_CASE(a_full_companion_grows_its_own_map) {
    temp_dir dir;
    environment catalog(dir.path / "catalog", {.initial_map_size = 1 * mib});
    environment partition(dir.path / "partition", {.initial_map_size = 1 * mib});
    auto c = catalog.open_table("c");
    auto p = partition.open_table("p");
    int runs = 0;
    const std::string value(1000, 'x');
    catalog.write([&](transaction& txn) {
        ++runs;
        txn.put(c, "k", "1");
        auto& other = txn.with(partition);
        for (int i = 0; i < 3000; ++i)
            other.put(p, u64_key(std::uint64_t(i)), value);
    });
    BOOST_TEST(runs > 1);
    BOOST_TEST(partition.map_size() > 1 * mib);
    BOOST_TEST(catalog.map_size() == 1 * mib);
    BOOST_TEST(read_value(catalog, c, "k").has_value());
    BOOST_TEST(read_value(partition, p, u64_key(2999)).has_value());
}

BOOST_AUTO_TEST_CASE(a_write_that_throws_commits_nothing) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) { txn.put(t, "kept", "1"); });
    BOOST_CHECK_THROW(env.write([&](transaction& txn) {
        txn.put(t, "a", "1");
        txn.put(t, "kept", "changed");
        txn.nested([&](transaction& child) { child.put(t, "b", "1"); });
        throw std::logic_error("fails");
    }),
                      std::logic_error);
    std::vector<std::string> want = {"kept"};
    BOOST_TEST(keys(env, t) == want, boost::test_tools::per_element());
    BOOST_TEST(*read_value(env, t, "kept") == "1");
    // The writer is free again.
    env.write([&](transaction& txn) { txn.put(t, "next", "1"); });
    BOOST_TEST(read_value(env, t, "next").has_value());
}

BOOST_AUTO_TEST_CASE(readers_see_a_snapshot) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    env.write([&](transaction& txn) { txn.put(t, "k", "old"); });
    auto snapshot = env.read();
    env.write([&](transaction& txn) {
        txn.put(t, "k", "new");
        txn.put(t, "added", "1");
    });
    BOOST_TEST(*snapshot.get(t, "k") == "old");
    BOOST_TEST(!snapshot.get(t, "added").has_value());
    BOOST_TEST(*read_value(env, t, "k") == "new");
}

BOOST_AUTO_TEST_CASE(the_map_grows) {
    temp_dir dir;
    environment env(dir.path, {.initial_map_size = 1 * mib});
    auto t = env.open_table("t");
    auto meta = env.open_table("meta");
    BOOST_TEST(env.map_size() == 1 * mib);

    // Readers run throughout: growing the map must wait for their transactions, and they must
    // always see a consistent store.
    std::atomic<bool> done{false};
    std::atomic<int> reader_errors{0}, reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
        readers.emplace_back([&] {
            while (!done) {
                auto txn = env.read();
                auto count = txn.get(meta, "count");
                if (count) {
                    auto n = read_u64(*count);
                    if (n > 0 && !txn.get(t, key_of(n - 1))) ++reader_errors;
                }
                ++reads;
            }
        });

    // ~20 MiB in 40 transactions of 512 values of 1 KiB.
    const std::size_t per_txn = 512, txns = 40, size = 1024;
    try {
        for (std::size_t i = 0; i < txns; ++i)
            env.write([&](transaction& txn) {
                for (std::size_t j = 0; j < per_txn; ++j) {
                    auto n = i * per_txn + j;
                    txn.put(t, key_of(n), value_of(n, size));
                }
                txn.put(meta, "count", u64_key((i + 1) * per_txn));
            });
    } catch (...) {
        done = true;
        for (auto& r : readers)
            r.join();
        throw;
    }
    done = true;
    for (auto& r : readers)
        r.join();
    BOOST_TEST(reader_errors == 0);
    BOOST_TEST(reads > 0);

    BOOST_TEST(env.map_size() >= 16 * mib);
    BOOST_TEST(env.map_size() % mib == 0u);
    auto txn = env.read();
    for (std::size_t n = 0; n < txns * per_txn; n += 97)
        BOOST_TEST_REQUIRE(*txn.get(t, key_of(n)) == value_of(n, size));
    BOOST_TEST(*txn.get(t, key_of(txns * per_txn - 1)) == value_of(txns * per_txn - 1, size));
}

BOOST_AUTO_TEST_CASE(the_map_grows_behind_readers_that_always_overlap) {
    temp_dir dir;
    environment env(dir.path, {.initial_map_size = 1 * mib});
    auto t = env.open_table("t");
    // Four readers, each holding a transaction for 2 ms and beginning the next at once: some
    // transaction is open at every moment, so a resize that waits only for a moment with none
    // would wait as long as they read. They stop after 20 s at the latest, to end the test.
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int r = 0; r < 4; ++r)
        readers.emplace_back([&, r] {
            std::this_thread::sleep_for(std::chrono::microseconds(500 * r));
            while (!done && std::chrono::steady_clock::now() < give_up) {
                auto txn = env.read();
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    env.write([&](transaction& txn) {
        for (std::size_t n = 0; n < 3000; ++n)
            txn.put(t, key_of(n), value_of(n, 1024));
    });
    const bool readers_still_reading = !done && std::chrono::steady_clock::now() < give_up;
    done = true;
    for (auto& r : readers)
        r.join();
    BOOST_TEST(readers_still_reading);  // the write grew the map while they read
    BOOST_TEST(env.map_size() >= 4 * mib);
}

BOOST_AUTO_TEST_CASE(one_big_write_grows_the_map_several_times) {
    temp_dir dir;
    environment env(dir.path, {.initial_map_size = 1 * mib});
    auto t = env.open_table("t");
    int runs = 0;
    env.write([&](transaction& txn) {
        ++runs;
        for (std::size_t n = 0; n < 6000; ++n)
            txn.put(t, key_of(n), value_of(n, 1024));
    });
    BOOST_TEST(runs > 1);  // the body was run again after each growth
    BOOST_TEST(env.map_size() >= 8 * mib);
    BOOST_TEST(*read_value(env, t, key_of(5999)) == value_of(5999, 1024));
}

BOOST_AUTO_TEST_CASE(a_full_store_refuses_writes_and_keeps_its_data) {
    temp_dir dir;
    environment env(dir.path, {.initial_map_size = 1 * mib, .max_map_size = 2 * mib});
    auto t = env.open_table("t");
    env.write([&](transaction& txn) {
        for (std::size_t n = 0; n < 100; ++n)
            txn.put(t, key_of(n), value_of(n, 100));
    });
    // 4 MiB cannot fit in 2 MiB.
    BOOST_CHECK_THROW(env.write([&](transaction& txn) {
        txn.put(t, "marker", "1");
        for (std::size_t n = 1000; n < 5000; ++n)
            txn.put(t, key_of(n), value_of(n, 1024));
    }),
                      store_full);
    BOOST_TEST(env.map_size() == 2 * mib);
    BOOST_TEST(!read_value(env, t, "marker").has_value());
    BOOST_TEST(!read_value(env, t, key_of(1000)).has_value());
    BOOST_TEST(keys(env, t).size() == 100u);
    for (std::size_t n = 0; n < 100; ++n)
        BOOST_TEST_REQUIRE(*read_value(env, t, key_of(n)) == value_of(n, 100));
    // Small writes still fit.
    env.write([&](transaction& txn) { txn.put(t, "small", "1"); });
    BOOST_TEST(read_value(env, t, "small").has_value());
}

BOOST_AUTO_TEST_CASE(reopening_keeps_the_data) {
    temp_dir dir;
    std::uint64_t grown;
    {
        environment env(dir.path, {.initial_map_size = 1 * mib});
        auto t = env.open_table("t");
        env.write([&](transaction& txn) {
            for (std::size_t n = 0; n < 4000; ++n)
                txn.put(t, key_of(n), value_of(n, 1024));
        });
        grown = env.map_size();
        BOOST_TEST(grown > 1 * mib);
    }
    auto file_size = std::filesystem::file_size(dir.path / "data.mdb");
    {
        // A map smaller than the file starts at the file's size.
        environment env(dir.path, {.initial_map_size = 1 * mib});
        BOOST_TEST(env.map_size() >= file_size);
        auto t = env.open_table("t");
        BOOST_TEST(keys(env, t).size() == 4000u);
        BOOST_TEST(*read_value(env, t, key_of(1234)) == value_of(1234, 1024));
        env.write([&](transaction& txn) { txn.put(t, "second", "1"); });
    }
    environment env(dir.path);
    auto t = env.open_table("t");
    BOOST_TEST(keys(env, t).size() == 4001u);
    BOOST_TEST(read_value(env, t, "second").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// The custos binary end to end: every verb of the log's workflow, the exit
// codes, the offline verifier against tampering and the remote auditor
// against a server that rewrote history.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "custos/core/bytes.h"
#include "custos/store/store.h"

namespace custos {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("custos-cli-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    stop_server();
    fs::remove_all(root_);
  }

  RunResult run(const std::vector<std::string>& args) {
    std::string command = shell_quote(CUSTOS_BINARY);
    for (const auto& arg : args) {
      command += ' ';
      command += shell_quote(arg);
    }
    fs::path out = root_ / "out.txt";
    fs::path err = root_ / "err.txt";
    command += " >";
    command += shell_quote(out.string());
    command += " 2>";
    command += shell_quote(err.string());
    command += " </dev/null";
    int status = std::system(command.c_str());
    RunResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
  }

  // custos init (its first admin: 3 identity entries; policy version 1), then a log writer
  // and its API token made offline (2 more): kSetupEntries in all.
  static constexpr int kSetupEntries = 6;
  std::string init(const std::string& name, const std::string& origin = "cli.test/log") {
    fs::path data = root_ / name;
    RunResult result = run({"init", "--data", data.string(), "--origin", origin,
                            "--credentials-out", data.string() + ".credentials"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    add_writer(data.string());
    return data.string();
  }

  // A service with the log_writer role and an API token for it in DATA.token.
  void add_writer(const std::string& data) {
    RunResult added = run({"principal", "add", "writer", "--kind", "service", "--role",
                           "log_writer", "--data", data});
    EXPECT_EQ(added.exit_code, 0) << added.err;
    RunResult token = run({"token", "create", "--data", data, "--principal", "writer", "--scope",
                           "log.append", "--out", data + ".token"});
    EXPECT_EQ(token.exit_code, 0) << token.err;
  }

  // Starts `custos serve` on `data` and returns its base URL.
  std::string start_server(const std::string& data) {
    stop_server();
    fs::path ready = root_ / "ready";
    fs::remove(ready);
    server_pid_ = ::fork();
    if (server_pid_ == 0) {
      std::string log = (root_ / "server.log").string();
      std::freopen(log.c_str(), "a", stderr);
      std::freopen("/dev/null", "w", stdout);
      ::execl(CUSTOS_BINARY, CUSTOS_BINARY, "serve", "--data", data.c_str(), "--listen",
              "127.0.0.1:0", "--ready-file", ready.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(ready); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    std::string address = read_file(ready);
    while (!address.empty() && address.back() == '\n') address.pop_back();
    EXPECT_FALSE(address.empty()) << read_file(root_ / "server.log");
    return "http://" + address;
  }

  int stop_server() {
    if (server_pid_ <= 0) return -1;
    ::kill(server_pid_, SIGTERM);
    int status = 0;
    ::waitpid(server_pid_, &status, 0);
    server_pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string vkey(const std::string& data) {
    std::string text = read_file(fs::path(data) / "log.vkey");
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  RunResult append(const std::string& url, const std::string& data, const std::string& payload) {
    return run({"log", "append", payload, "--url", url, "--token-file", data + ".token",
                "--vkey", vkey(data)});
  }

  fs::path root_;
  pid_t server_pid_ = -1;
};

TEST_F(CliTest, InitCreatesPrivateKeyFilesAndRefusesToOverwrite) {
  std::string data = init("data");
  auto mode = [](const fs::path& path) { return fs::status(path).permissions() & fs::perms::all; };
  EXPECT_EQ(mode(fs::path(data) / "log.key"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(data + ".credentials"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(data + ".token"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(fs::path(data) / "admin.token"));
  EXPECT_EQ(vkey(data).rfind("cli.test/log+", 0), 0u);
  RunResult again = run({"init", "--data", data});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already holds a custos log"), std::string::npos);
  RunResult bad_origin = run({"init", "--data", (root_ / "other").string(), "--origin", "a b"});
  EXPECT_EQ(bad_origin.exit_code, 2);
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run({}).exit_code, 2);
  EXPECT_EQ(run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run({"log", "show"}).exit_code, 2);
  RunResult not_initialised = run({"serve", "--data", (root_ / "missing").string()});
  EXPECT_EQ(not_initialised.exit_code, 2);
  EXPECT_NE(not_initialised.err.find("custos init"), std::string::npos);
  std::ofstream(root_ / "bad.toml") << "[server]\nlisten_addr = \"x\"\n";
  RunResult bad_config = run({"serve", "--config", (root_ / "bad.toml").string()});
  EXPECT_EQ(bad_config.exit_code, 2);
  EXPECT_NE(bad_config.err.find("server.listen_addr"), std::string::npos);
  EXPECT_EQ(run({"verify", "--help"}).exit_code, 0);
}

TEST_F(CliTest, AppendProveShowAndVerifyOffline) {
  std::string data = init("data");
  std::string url = start_server(data);
  for (int i = 0; i < 5; ++i) {
    RunResult appended = append(url, data, "custody event " + std::to_string(i));
    ASSERT_EQ(appended.exit_code, 0) << appended.err;
    EXPECT_NE(appended.out.find("entry " + std::to_string(kSetupEntries + i) + " committed"),
              std::string::npos)
        << appended.out;
  }
  RunResult proof = run({"log", "proof", "3", "--url", url, "--vkey", vkey(data)});
  EXPECT_EQ(proof.exit_code, 0) << proof.err;
  EXPECT_NE(proof.out.find("VERIFIED"), std::string::npos);

  // A wrong key must not verify the server's checkpoint.
  std::string other = init("other", "cli.test/log");
  RunResult wrong_key = run({"log", "proof", "3", "--url", url, "--vkey", vkey(other)});
  EXPECT_EQ(wrong_key.exit_code, 1);

  RunResult shown = run({"log", "show", std::to_string(kSetupEntries + 2), "--url", url});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("custody event 2"), std::string::npos);
  EXPECT_EQ(run({"log", "show", "99", "--url", url}).exit_code, 2);

  // Read-only access works beside the running server.
  RunResult local = run({"log", "show", std::to_string(kSetupEntries + 4), "--data", data});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_NE(local.out.find("custody event 4"), std::string::npos);
  RunResult verified = run({"verify", "--data", data, "--quiet"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("verified"), std::string::npos);
  EXPECT_EQ(stop_server(), 0);
}

TEST_F(CliTest, EpcisHashPrintsOneHashPerEventInDocumentOrder) {
  const std::string stem = std::string(CUSTOS_TEST_DATA_DIR) + "/epcis/hash/ReferenceEventHashAlgorithm";
  RunResult hashed = run({"epcis", "hash", stem + ".jsonld"});
  ASSERT_EQ(hashed.exit_code, 0) << hashed.err;
  std::string expected = read_file(stem + ".hashes");
  while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\r')) expected.pop_back();
  std::string got = hashed.out;
  while (!got.empty() && got.back() == '\n') got.pop_back();
  EXPECT_EQ(got, expected);
  EXPECT_NE(hashed.out.find("ni:///sha-256;"), std::string::npos);

  std::ofstream(root_ / "bad.json") << "{\"epcisBody\": [";
  RunResult bad = run({"epcis", "hash", (root_ / "bad.json").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_FALSE(bad.err.empty());
  EXPECT_EQ(run({"epcis", "hash", (root_ / "missing.json").string()}).exit_code, 2);
}

TEST_F(CliTest, EpcisValidatePrintsValidOrOneLinePerProblem) {
  const fs::path epcis = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis";
  RunResult valid =
      run({"epcis", "validate", (epcis / "JSON" / "Example_9.6.1-ObjectEvent.jsonld").string()});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  EXPECT_EQ(valid.out, "valid\n");
  // One event with its own @context is accepted too.
  RunResult event =
      run({"epcis", "validate", (epcis / "JSON-Schema" / "test" / "ObjectEvent.json").string()});
  EXPECT_EQ(event.exit_code, 0) << event.out << event.err;
  EXPECT_EQ(event.out, "valid\n");

  // A negative case of the validator's data: its lines, each "POINTER: message".
  RunResult invalid =
      run({"epcis", "validate", (epcis / "invalid" / "multiple-problems.json").string()});
  EXPECT_EQ(invalid.exit_code, 1) << invalid.err;
  std::istringstream lines(invalid.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(line.rfind("/epcisBody/eventList/", 0), 0u) << line;
    EXPECT_NE(line.find(": "), std::string::npos) << line;
  }
  EXPECT_EQ(count, 4) << invalid.out;
  EXPECT_NE(invalid.out.find("/epcisBody/eventList/0/eventTimeZoneOffset: '02:00' is not a time "
                             "zone offset"),
            std::string::npos)
      << invalid.out;

  std::ofstream(root_ / "bad.json") << "{\"epcisBody\": [";
  RunResult bad = run({"epcis", "validate", (root_ / "bad.json").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out.rfind("(root): not valid JSON", 0), 0u) << bad.out;

  RunResult missing = run({"epcis", "validate", (root_ / "missing.json").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("missing.json"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());
}

TEST_F(CliTest, VerifyNamesATamperedEntry) {
  std::string data = init("data");
  std::string url = start_server(data);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(append(url, data, "event " + std::to_string(i)).exit_code, 0);
  ASSERT_EQ(stop_server(), 0);
  ASSERT_EQ(run({"verify", "--data", data, "--quiet"}).exit_code, 0);

  const int tampered_index = kSetupEntries + 2;  // custody event 2
  {  // Flip one payload byte of that entry directly in RocksDB (bundle 0, docs/storage.md).
    store::StoreOptions options;
    options.create_if_missing = false;
    auto store = store::Store::open(data + "/db", options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    std::string key(8, '\0');  // bundle index 0 as u64 BE
    auto bundle = (*store)->get(store::Family::kEntries, key);
    ASSERT_TRUE(bundle.is_ok() && bundle->has_value());
    std::string bytes = **bundle;
    size_t at = 0;
    for (int i = 0; i < tampered_index; ++i) {
      at += 2 + read_u16_be(reinterpret_cast<const uint8_t*>(bytes.data() + at));
    }
    size_t length = read_u16_be(reinterpret_cast<const uint8_t*>(bytes.data() + at));
    bytes[at + 2 + length - 1] ^= 0x01;  // last payload byte of the entry
    store::WriteBatch batch;
    batch.put(store::Family::kEntries, key, std::string_view(bytes));
    ASSERT_TRUE((*store)->write(batch, true).is_ok());
  }
  RunResult tampered = run({"verify", "--data", data, "--quiet"});
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out;
  EXPECT_NE(tampered.out.find("entry " + std::to_string(tampered_index)), std::string::npos)
      << tampered.out;
}

TEST_F(CliTest, AuditDetectsAServerThatRewroteHistory) {
  std::string data = init("data", "audit.test/log");
  std::string url = start_server(data);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(append(url, data, "genuine " + std::to_string(i)).exit_code, 0);
  std::string state = (root_ / "audit.state").string();
  RunResult first = run({"audit", "--url", url, "--state", state});
  EXPECT_EQ(first.exit_code, 2) << "the first audit needs --vkey";
  first = run({"audit", "--url", url, "--state", state, "--vkey", vkey(data)});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  for (int i = 4; i < 7; ++i) ASSERT_EQ(append(url, data, "genuine " + std::to_string(i)).exit_code, 0);
  RunResult second = run({"audit", "--url", url, "--state", state});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  ASSERT_EQ(stop_server(), 0);

  // The operator rebuilds the log with the same key but a different history.
  std::string forged = init("forged", "audit.test/log");
  fs::copy_file(fs::path(data) / "log.key", fs::path(forged) / "log.key",
                fs::copy_options::overwrite_existing);
  fs::copy_file(fs::path(data) / "log.vkey", fs::path(forged) / "log.vkey",
                fs::copy_options::overwrite_existing);
  // The forged store was created under another key: start it fresh with the stolen key.
  fs::remove_all(fs::path(forged) / "db");
  store::StoreOptions options;
  ASSERT_TRUE(store::Store::open(forged + "/db", options).is_ok());
  add_writer(forged);
  std::string forged_url = start_server(forged);
  for (int i = 0; i < 12; ++i) {
    std::string payload = i == 2 ? std::string("forged") : "genuine " + std::to_string(i);
    ASSERT_EQ(append(forged_url, forged, payload).exit_code, 0);
  }
  RunResult rewritten = run({"audit", "--url", forged_url, "--state", state});
  EXPECT_EQ(rewritten.exit_code, 1) << rewritten.out << rewritten.err;
  EXPECT_NE(rewritten.out.find("INCONSISTENT"), std::string::npos) << rewritten.out;
}

}  // namespace
}  // namespace custos

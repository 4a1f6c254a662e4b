// Test fixture for the tests of the log's consumers (identity, the policy
// store): a temporary directory holding a store and a log (fake checkpoint
// signer, manual clock), opened before each test and removed after it. A
// derived fixture opens what it tests over them in open_consumers() and
// closes it in close_consumers(); restart() closes everything and opens it
// again, as a process restart would.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"

namespace custos::test_support {

class StoreLogFixture : public ::testing::Test {
 protected:
  // `name` names the directory ("custos-<name>-test-<pid>-<test>"); the log's
  // origin is `log_origin`; the clock starts at `start_time`.
  StoreLogFixture(std::string name, std::string log_origin, UnixMicros start_time)
      : name_(std::move(name)), log_origin_(std::move(log_origin)), clock_(start_time) {}

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-" + name_ + "-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open_all();
  }
  void TearDown() override {
    close_all();
    std::filesystem::remove_all(dir_);
  }

  // What the test runs over the store and the log.
  virtual void open_consumers() {}
  virtual void close_consumers() {}

  void open_all() {
    store::StoreOptions store_options;
    store_options.block_cache_mb = 8;
    store_options.write_buffer_mb = 4;
    auto store = store::Store::open(dir_.string(), store_options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ledger::LogOptions log_options;
    log_options.origin = log_origin_;
    log_options.clock = &clock_;
    log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n\u2014 fake-signer AAAA\n";
    };
    auto log = ledger::Log::open(*store_, std::move(log_options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    open_consumers();
  }

  void close_all() {
    close_consumers();
    log_.reset();
    store_.reset();
  }

  // A restart of the process: everything closed and opened again.
  void restart() {
    close_all();
    open_all();
  }

  std::string name_;
  std::string log_origin_;
  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ledger::Log> log_;
};

}  // namespace custos::test_support

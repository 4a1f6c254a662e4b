// NamedQueryStore: names checked, a taken name refused, definitions kept
// across a reopen of the store, listing in name order with paging, erase.
#include "custos/custody/named_queries.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace custos::custody {
namespace {

class NamedQueryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-named-queries-" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(directory_);
  }
  void reopen() {
    store_.reset();
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }
  std::filesystem::path directory_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(NamedQueryStoreTest, KeepsListsAndErases) {
  {
    NamedQueryStore queries(*store_);
    for (std::string name : {"b-query", "a-query", "c.query"}) {
      ASSERT_TRUE(queries.create({name, "{\"name\":\"" + name + "\"}"}).is_ok()) << name;
    }
    EXPECT_EQ(queries.create({"a-query", "{}"}).code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(queries.create({"", "{}"}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(queries.create({"a/b", "{}"}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(queries.create({std::string(129, 'x'), "{}"}).code(), StatusCode::kInvalidArgument);
  }
  reopen();
  NamedQueryStore queries(*store_);
  auto found = queries.find("b-query");
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->json, "{\"name\":\"b-query\"}");
  EXPECT_FALSE(queries.find("zzz")->has_value());
  EXPECT_FALSE(queries.find("bad name")->has_value());

  auto all = queries.list(10);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "a-query");
  EXPECT_EQ((*all)[2].name, "c.query");
  auto after = queries.list(1, "a-query");
  ASSERT_TRUE(after.is_ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].name, "b-query");

  EXPECT_TRUE(*queries.erase("b-query"));
  EXPECT_FALSE(*queries.erase("b-query"));
  EXPECT_EQ(queries.list(10)->size(), 2u);
}

}  // namespace
}  // namespace custos::custody

#include "custos/server/router.h"

#include <gtest/gtest.h>

namespace custos {
namespace {

Handler noop() {
  return [](const HttpRequest&, const RouteParams&, Responder respond) { respond(HttpResponse{}); };
}

class RouterTest : public ::testing::Test {
 protected:
  void add(std::string method, std::string pattern, std::string name) {
    ASSERT_TRUE(
        router_.add(std::move(method), std::move(pattern), std::move(name), noop()).is_ok());
  }
  std::string found_name(std::string_view method, std::string_view path) {
    RouteMatch match = router_.match(method, path);
    if (match.kind != RouteMatch::Kind::kFound) return "<none>";
    return router_.route(match.route_index).name;
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralsAndParameters) {
  add("GET", "/", "root");
  add("GET", "/checkpoint", "checkpoint");
  add("GET", "/entries/{index}", "entry");
  add("GET", "/entries/{index}/proof/{size}", "proof");
  EXPECT_EQ(found_name("GET", "/"), "root");
  EXPECT_EQ(found_name("GET", "/checkpoint"), "checkpoint");
  RouteMatch match = router_.match("GET", "/entries/42/proof/100");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(match.params.value("index"), "42");
  EXPECT_EQ(match.params.value("size"), "100");
  EXPECT_FALSE(match.params.get("other").has_value());
  EXPECT_EQ(found_name("GET", "/entries"), "<none>");
  EXPECT_EQ(found_name("GET", "/entries/"), "<none>");  // a parameter is never empty
  EXPECT_EQ(found_name("GET", "/checkpoint/"), "<none>");
  EXPECT_EQ(found_name("GET", "/entries/1/proof"), "<none>");
}

TEST_F(RouterTest, CatchAllTakesTheRestOfThePath) {
  add("GET", "/tile/{path...}", "tile");
  RouteMatch match = router_.match("GET", "/tile/0/x001/234.p/8");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(match.params.value("path"), "0/x001/234.p/8");
  EXPECT_EQ(router_.match("GET", "/tile/entries/000").params.value("path"), "entries/000");
  EXPECT_EQ(found_name("GET", "/tile/"), "<none>");
  EXPECT_EQ(found_name("GET", "/tile"), "<none>");
}

TEST_F(RouterTest, SegmentsArePercentDecoded) {
  add("GET", "/items/{id}", "item");
  add("GET", "/a b", "spaced");
  RouteMatch match = router_.match("GET", "/items/x%2Fy%20z");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(match.params.value("id"), "x/y z");
  EXPECT_EQ(found_name("GET", "/a%20b"), "spaced");
  EXPECT_EQ(router_.match("GET", "/items/%zz").kind, RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, MostSpecificPatternWins) {
  add("GET", "/tile/{path...}", "tile");
  add("GET", "/tile/{level}/{index}", "tile_two");
  add("GET", "/tile/entries/{index}", "entries");
  EXPECT_EQ(found_name("GET", "/tile/entries/5"), "entries");
  EXPECT_EQ(found_name("GET", "/tile/0/5"), "tile_two");
  EXPECT_EQ(found_name("GET", "/tile/0/5/6"), "tile");
}

TEST_F(RouterTest, WrongMethodListsAllowedMethods) {
  add("GET", "/entries/{index}", "entry");
  add("POST", "/entries", "add_entry");
  add("DELETE", "/entries/{index}", "delete_entry");
  RouteMatch match = router_.match("PUT", "/entries/3");
  EXPECT_EQ(match.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(match.allow, "DELETE, GET, HEAD");
  match = router_.match("GET", "/entries");
  EXPECT_EQ(match.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(match.allow, "POST");
  EXPECT_EQ(router_.match("GET", "/nothing").kind, RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, HeadFallsBackToGetUnlessAHeadRouteExists) {
  add("GET", "/checkpoint", "checkpoint");
  add("GET", "/entries", "entries_get");
  add("HEAD", "/entries", "entries_head");
  EXPECT_EQ(found_name("HEAD", "/checkpoint"), "checkpoint");
  EXPECT_EQ(found_name("HEAD", "/entries"), "entries_head");
  EXPECT_EQ(router_.match("POST", "/checkpoint").allow, "GET, HEAD");
}

TEST_F(RouterTest, MethodsAreCaseSensitive) {
  add("GET", "/x", "x");
  EXPECT_EQ(router_.match("get", "/x").kind, RouteMatch::Kind::kMethodNotAllowed);
}

TEST_F(RouterTest, RefusesMalformedPatterns) {
  for (std::string bad : {"", "x", "/a/{", "/a/{}", "/a/{b", "/a/b}", "/a/{b-c}", "/a/{rest...}/b",
                          "/a/{x}/{x}", "/a/x{y}", "/a/{...}"}) {
    EXPECT_FALSE(router_.add("GET", bad, "bad", noop()).is_ok()) << bad;
  }
  EXPECT_FALSE(router_.add("", "/a", "a", noop()).is_ok());
  EXPECT_FALSE(router_.add("GET", "/a", "", noop()).is_ok());
  EXPECT_FALSE(router_.add("GET", "/a", "a", Handler{}).is_ok());
  EXPECT_EQ(router_.size(), 0u);
}

TEST_F(RouterTest, RefusesClashingRoutes) {
  add("GET", "/entries/{index}", "entry");
  Status clash = router_.add("GET", "/entries/{other}", "entry2", noop());
  EXPECT_EQ(clash.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(router_.add("POST", "/entries/{index}", "entry_post", noop()).is_ok());
  EXPECT_TRUE(router_.add("GET", "/entries/latest", "latest", noop()).is_ok());
}

TEST_F(RouterTest, RejectsPathsThatAreNotAbsolute) {
  add("GET", "/", "root");
  EXPECT_EQ(router_.match("GET", "").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_.match("GET", "*").kind, RouteMatch::Kind::kNotFound);
}

}  // namespace
}  // namespace custos

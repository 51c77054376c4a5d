"""The feed (SPEC 4.4, 11.9): posting Feed Items that carry action link groups, the
rules for attaching groups, the rendering per reader, deleting, the associated-actions
capability, the news feed's pages, and expiry decided at read time."""
import datetime
import threading
import time

import harness
from harness import API, group_def, link_def

FEED = API + "/chatter/feed-elements"
NEWS = API + "/chatter/feeds/news/me/feed-elements"
DEFS = API + "/connect/action-link-group-definitions/"
GROUPS_FIELD = "capabilities.associatedActions.actionLinkGroupIds"


def post_body(groups=(), text="Hello", subject="me", **over):
    b = {"body": {"messageSegments": [{"type": "Text", "text": text}]},
         "subjectId": subject, "feedElementType": "FeedItem",
         "capabilities": {"associatedActions": {"actionLinkGroupIds": list(groups)}}}
    b.update(over)
    return b


def iso_ms(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (dt.microsecond // 1000)


def without_bearers(groups):
    """Platform Action Groups with the (time-dependent) _bearer of redirect URLs cut."""
    for g in groups:
        for a in g["platformActions"]:
            if a.get("actionUrl"):
                a["actionUrl"] = a["actionUrl"].split("?_bearer=")[0]
    return groups


def group_ids(item):
    return [g["id"] for g in item["capabilities"]["associatedActions"]["platformActionGroups"]]


class FeedTest(harness.ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.creator = s.user("creator", "--name", "Cree Ator", app="app1")
        cls.peer = s.user("peer", app="app1")
        cls.admin = s.user("admin", "--view-all-data", app="app1")
        cls.creator_app2 = s.user_token("creator", "app2")
        cls.creator_app2.user_id = cls.creator.user_id
        cls.admin_app2 = s.user_token("admin", "app2")

    def make_group(self, client=None, links=None, **kw):
        r = (client or self.creator).create_group(
            group_def(links or [link_def("Ui", label="View")], **kw))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def post(self, client=None, groups=(), **kw):
        return (client or self.creator).post(FEED, post_body(groups, **kw))

    def posted(self, client=None, groups=(), **kw):
        r = self.post(client, groups, **kw)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def count_items(self):
        return self.server.sql("SELECT count(*) FROM feed_items")[0][0]


class Posting(FeedTest):
    def test_feed_item_shape(self):
        g = self.make_group()
        body = post_body([g["id"]])
        body["body"]["messageSegments"] = [{"type": "Text", "text": "Please "},
                                           {"type": "Text", "text": "approve ✓"}]
        r = self.creator.post(FEED, body)
        self.assertEqual(r.status, 201, r)
        item = r.json()
        self.assertRegex(item["id"], r"^0D5[0-9A-Za-z]{12}[A-Z0-5]{3}$")
        self.assertEqual(item["feedElementType"], "FeedItem")
        self.assertEqual(item["url"], FEED + "/" + item["id"])
        self.assertRegex(item["createdDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(item["actor"]["id"], self.creator.user_id)
        self.assertEqual(item["actor"]["username"], "creator")
        self.assertEqual(item["actor"]["displayName"], "Cree Ator")
        self.assertEqual(item["body"]["text"], "Please approve ✓")
        self.assertEqual(item["body"]["messageSegments"],
                         [{"type": "Text", "text": "Please "},
                          {"type": "Text", "text": "approve ✓"}])
        groups = item["capabilities"]["associatedActions"]["platformActionGroups"]
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0]["id"], g["id"])
        self.assertEqual(groups[0]["category"], "Primary")
        self.assertEqual(groups[0]["url"], API + "/connect/action-link-groups/" + g["id"])
        self.assertEqual([a["id"] for a in groups[0]["platformActions"]],
                         [g["actionLinks"][0]["id"]])
        self.assertEqual(groups[0]["platformActions"][0]["status"], "NewStatus")
        # GET answers the same item; HEAD the same status without a body.
        got = self.creator.get(item["url"])
        self.assertEqual(got.status, 200, got)
        self.assertEqual(group_ids(got.json()), [g["id"]])
        self.assertEqual(got.json()["body"], item["body"])
        self.assertEqual(got.json()["createdDate"], item["createdDate"])
        head = self.creator.request("HEAD", item["url"])
        self.assertEqual((head.status, head.body), (200, ""))
        # Another API version gives URLs of that version.
        v50 = self.creator.get("/services/data/v50.0/chatter/feed-elements/" + item["id"])
        self.assertEqual(v50.json()["url"], "/services/data/v50.0/chatter/feed-elements/" +
                         item["id"])

    def test_post_without_groups_and_on_another_users_feed(self):
        item = self.posted(subject=self.peer.user_id, capabilities=None)
        self.assertEqual(group_ids(item), [])
        item = self.posted(text="x")
        self.assertEqual(item["body"]["text"], "x")

    def test_validation_errors_store_nothing(self):
        g = self.make_group()
        seg = lambda *s: {"messageSegments": list(s)}
        text = lambda t: {"type": "Text", "text": t}
        cases = [
            (dict(body=None), 400, "INVALID_API_INPUT", "body"),
            (dict(body="hi"), 400, "INVALID_API_INPUT", "body"),
            (dict(body={}), 400, "INVALID_API_INPUT", "body.messageSegments"),
            (dict(body=seg()), 400, "INVALID_API_INPUT", "body.messageSegments"),
            (dict(body=seg(text(""))), 400, "INVALID_API_INPUT", "body.messageSegments"),
            (dict(body=seg(text("a"), {"type": "Mention", "id": self.peer.user_id})), 400,
             "INVALID_API_INPUT", "body.messageSegments[1].type"),
            (dict(body=seg({"type": "Text", "text": 5})), 400, "INVALID_API_INPUT",
             "body.messageSegments[0].text"),
            (dict(body=seg("Text")), 400, "INVALID_API_INPUT", "body.messageSegments[0]"),
            (dict(body=seg(text("a" * 6000), text("b" * 4001))), 400, "INVALID_API_INPUT",
             "body.messageSegments"),
            (dict(subjectId=None), 400, "INVALID_API_INPUT", "subjectId"),
            (dict(subjectId="you"), 400, "INVALID_ID_FIELD", "subjectId"),
            (dict(subjectId=g["id"]), 400, "INVALID_ID_FIELD", "subjectId"),
            (dict(subjectId="005000000000000"), 400, "INVALID_API_INPUT", "subjectId"),
            (dict(feedElementType=None), 400, "INVALID_API_INPUT", "feedElementType"),
            (dict(feedElementType="Bundle"), 400, "INVALID_API_INPUT", "feedElementType"),
            (dict(capabilities=[]), 400, "INVALID_API_INPUT", "capabilities"),
            (dict(capabilities={"associatedActions": "x"}), 400, "INVALID_API_INPUT",
             "capabilities.associatedActions"),
            (dict(capabilities={"associatedActions": {"actionLinkGroupIds": g["id"]}}), 400,
             "INVALID_API_INPUT", GROUPS_FIELD),
        ]
        before = self.count_items()
        for over, status, code, field in cases:
            with self.subTest(over=over):
                body = post_body([g["id"]])
                for k, v in over.items():
                    if v is None:
                        del body[k]
                    else:
                        body[k] = v
                self.assertError(self.creator.post(FEED, body), status, code, field)
        id_cases = [
            ([7], 400, "INVALID_API_INPUT", GROUPS_FIELD + "[0]"),
            (["nonsense"], 400, "INVALID_ID_FIELD", GROUPS_FIELD + "[0]"),
            ([g["id"], g["actionLinks"][0]["id"]], 400, "INVALID_ID_FIELD", GROUPS_FIELD + "[1]"),
            ([g["id"], g["id"][:15]], 400, "INVALID_API_INPUT", GROUPS_FIELD + "[1]"),
            ([g["id"], "0Ag000000000000"], 404, "NOT_FOUND", GROUPS_FIELD + "[1]"),
        ]
        for ids, status, code, field in id_cases:
            with self.subTest(ids=ids):
                self.assertError(self.post(groups=ids), status, code, field)
        self.assertError(self.creator.post(FEED, raw=b"{"), 400, "JSON_PARSER_ERROR")
        self.assertError(self.creator.post(FEED, raw=b"[]"), 400, "INVALID_API_INPUT")
        self.assertEqual(self.count_items(), before)

    def test_text_limit_counts_characters(self):
        item = self.posted(text="é" * 10000)  # 20,000 bytes, 10,000 characters
        self.assertEqual(len(item["body"]["text"]), 10000)
        self.assertError(self.post(text="é" * 10001), 400, "INVALID_API_INPUT",
                         "body.messageSegments")

    def test_at_most_ten_groups_and_one_primary(self):
        primary = self.make_group()["id"]
        overflow = [self.make_group(category="Overflow")["id"] for _ in range(10)]
        before = self.count_items()
        self.assertError(self.post(groups=[primary] + overflow), 400, "INVALID_API_INPUT",
                         GROUPS_FIELD)
        second = self.make_group()["id"]
        self.assertError(self.post(groups=[primary, overflow[0], second]), 400,
                         "INVALID_API_INPUT", GROUPS_FIELD + "[2]")
        self.assertEqual(self.count_items(), before)
        ten = [overflow[3], primary] + overflow[4:] + overflow[:2]
        self.assertEqual(len(ten), 10)
        item = self.posted(groups=ten)
        self.assertEqual(group_ids(item), ten)  # in the order given
        self.assertEqual(group_ids(self.creator.get(item["url"]).json()), ten)
        self.assertEqual(group_ids(self.posted(groups=overflow[:10])), overflow[:10])

    def test_only_who_may_read_the_definition_may_attach_it(self):
        g = self.make_group()["id"]
        before = self.count_items()
        for c in (self.peer, self.creator_app2, self.admin_app2):
            with self.subTest(user=c.username):
                self.assertError(self.post(c, [g]), 403, "INSUFFICIENT_ACCESS",
                                 GROUPS_FIELD + "[0]")
        self.assertEqual(self.count_items(), before)
        item = self.posted(self.admin, [g])  # viewAllData through the creating app
        self.assertEqual(item["actor"]["id"], self.admin.user_id)
        self.assertEqual(group_ids(item), [g])
        # One group may be carried by several posts.
        self.assertEqual(group_ids(self.posted(groups=[g])), [g])


class Rendering(FeedTest):
    def test_groups_are_rendered_for_each_reader(self):
        peer = self.peer.user_id
        g = self.make_group(links=[
            link_def("Ui", "https://example.com/1", label="View", userId=peer),
            link_def("Ui", "https://example.com/2", label="Open", excludedUserId=peer),
            link_def("Ui", "https://example.com/3", label="Join")], policy="OncePerUser")
        only_peer, not_peer, everyone = [l["id"] for l in g["actionLinks"]]
        hidden = self.make_group(category="Overflow", links=[
            link_def("Ui", label="View", userId=self.creator.user_id)])
        item = self.posted(groups=[g["id"], hidden["id"]])

        def view(client, path):
            r = client.get(path)
            self.assertEqual(r.status, 200, r)
            return r.json()

        for client, links, groups in ((self.creator, [not_peer, everyone], 2),
                                      (self.peer, [only_peer, everyone], 1),
                                      (self.admin, [not_peer, everyone], 1)):
            with self.subTest(reader=client.username):
                got = view(client, item["url"])
                pags = got["capabilities"]["associatedActions"]["platformActionGroups"]
                self.assertEqual(len(pags), groups)
                self.assertEqual(pags[0]["id"], g["id"])
                self.assertEqual([a["id"] for a in pags[0]["platformActions"]], links)
                caps = view(client, item["url"] + "/capabilities/associated-actions")
                self.assertEqual(without_bearers(caps["platformActionGroups"]),
                                 without_bearers(pags))
                news = view(client, NEWS + "?pageSize=100")
                mine = [e for e in news["elements"] if e["id"] == item["id"]]
                self.assertEqual(len(mine), 1)
                self.assertEqual(without_bearers(
                    mine[0]["capabilities"]["associatedActions"]["platformActionGroups"]), pags)

    def test_statuses_are_the_readers(self):
        g = self.make_group(policy="OncePerUser")
        link = g["actionLinks"][0]["id"]
        item = self.posted(groups=[g["id"]])
        self.assertEqual(self.peer.set_status(link, "PendingStatus").status, 200)
        status = lambda c: c.get(item["url"]).json()["capabilities"]["associatedActions"][
            "platformActionGroups"][0]["platformActions"][0]["status"]
        self.assertEqual(status(self.peer), "PendingStatus")
        self.assertEqual(status(self.creator), "NewStatus")

    def test_deleting_a_group_removes_it_from_posts(self):
        a, b = self.make_group()["id"], self.make_group(category="Overflow")["id"]
        first = self.posted(groups=[a, b])
        second = self.posted(groups=[b, a])
        self.assertEqual(self.creator.delete(DEFS + a).status, 204)
        for item in (first, second):
            got = self.creator.get(item["url"]).json()
            self.assertEqual(group_ids(got), [b])
            caps = self.creator.get(item["url"] + "/capabilities/associated-actions").json()
            self.assertEqual([g["id"] for g in caps["platformActionGroups"]], [b])
        self.assertEqual(self.server.sql(
            "SELECT count(*) FROM feed_item_groups WHERE group_id = ?", (a[:15],))[0][0], 0)
        # A group deleted after the checks of a POST is not attached.
        self.assertError(self.post(groups=[a]), 404, "NOT_FOUND", GROUPS_FIELD + "[0]")


class Deleting(FeedTest):
    def test_delete_rules(self):
        item = self.posted()
        self.assertError(self.peer.delete(item["url"]), 403, "INSUFFICIENT_ACCESS")
        self.assertEqual(self.creator.get(item["url"]).status, 200)
        r = self.creator_app2.delete(item["url"])  # the poster, through any app
        self.assertEqual((r.status, r.body), (204, ""))
        self.assertError(self.creator.get(item["url"]), 404, "NOT_FOUND")
        self.assertError(self.creator.delete(item["url"]), 404, "NOT_FOUND")
        self.assertError(self.creator.get(item["url"] + "/capabilities/associated-actions"),
                         404, "NOT_FOUND")
        peers = self.posted(self.peer)
        self.assertEqual(self.admin.delete(peers["url"]).status, 204)  # viewAllData
        self.assertError(self.creator.get(FEED + "/nonsense"), 400, "INVALID_ID_FIELD")
        self.assertError(self.creator.delete(FEED + "/0D5000000000000"), 404, "NOT_FOUND")

    def test_deleting_a_post_keeps_its_groups(self):
        g = self.make_group()["id"]
        item = self.posted(groups=[g])
        self.assertEqual(self.creator.delete(item["url"]).status, 204)
        self.assertEqual(self.creator.get(DEFS + g).status, 200)
        self.assertEqual(self.server.sql(
            "SELECT count(*) FROM feed_item_groups WHERE item_id = ?", (item["id"][:15],))[0][0],
            0)
        gone = [e for e in self.creator.get(NEWS + "?pageSize=100").json()["elements"]
                if e["id"] == item["id"]]
        self.assertEqual(gone, [])

    def test_needs_a_token(self):
        anon = self.server.client()
        self.assertError(anon.get(NEWS), 401, "INVALID_SESSION_ID")
        self.assertError(anon.post(FEED, post_body()), 401, "INVALID_SESSION_ID")


class NewsFeedParams(FeedTest):
    def test_page_size_and_token_are_checked(self):
        for size in ("0", "101", "abc", "-1", "", "1.5", "1e2"):
            with self.subTest(size=size):
                self.assertError(self.creator.get(NEWS + "?pageSize=" + size), 400,
                                 "INVALID_API_INPUT", "pageSize")
        for token in ("!!!", "abc", "MS4xLjA", "0D5000000000000", "x" * 200):
            with self.subTest(token=token):
                self.assertError(self.creator.get(NEWS + "?pageToken=" + token), 400,
                                 "INVALID_API_INPUT", "pageToken")

    def test_pages_follow_next_page_url(self):
        ids = [self.posted(text="p%d" % i)["id"] for i in range(7)]
        first = self.creator.get(NEWS + "?pageSize=3")
        self.assertEqual(first.status, 200, first)
        page = first.json()
        self.assertEqual(page["currentPageUrl"], NEWS + "?pageSize=3")
        seen = []
        while True:
            seen += [e["id"] for e in page["elements"]]
            if page["nextPageUrl"] is None:
                break
            self.assertTrue(page["nextPageUrl"].startswith(NEWS + "?pageSize=3&pageToken="))
            r = self.creator.get(page["nextPageUrl"])
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["currentPageUrl"], page["nextPageUrl"])
            page = r.json()
        self.assertEqual(seen[:7], list(reversed(ids)))
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), self.count_items())
        # The last page answers nextPageUrl null; HEAD answers like GET.
        self.assertEqual(self.creator.request("HEAD", NEWS).status, 200)


class Paging(FeedTest):
    POSTS = 1000

    def test_a_walk_returns_each_post_once_while_posts_are_added(self):
        ids, lock = [], threading.Lock()
        errors = []

        def poster(n):
            c = self.server.client(self.creator.token)
            for i in range(n):
                r = c.post(FEED, post_body(text="bulk"))
                if r.status != 201:
                    errors.append(r)
                    return
                with lock:
                    ids.append(r.json()["id"])

        threads = [threading.Thread(target=poster, args=(self.POSTS // 20,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), self.POSTS)
        existing = set(ids)

        # The default page holds 25.
        self.assertEqual(len(self.peer.get(NEWS).json()["elements"]), 25)

        # Walk in pages of 37 while another thread keeps posting; each page waits for at
        # least one new post, so posts are added throughout the walk.
        stop = threading.Event()
        added = []

        def keep_posting():
            c = self.server.client(self.peer.token)
            while not stop.is_set():
                r = c.post(FEED, post_body(text="new"))
                if r.status != 201:
                    errors.append(r)
                    return
                with lock:
                    added.append(r.json()["id"])

        t = threading.Thread(target=keep_posting)
        t.start()
        try:
            seen, dates, pages = [], [], 0
            url = NEWS + "?pageSize=37"
            while url:
                with lock:
                    mark = len(added)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and not errors:
                    with lock:
                        if len(added) > mark:
                            break
                    time.sleep(0.001)
                r = self.peer.get(url)
                self.assertEqual(r.status, 200, r)
                page = r.json()
                pages += 1
                seen += [e["id"] for e in page["elements"]]
                dates += [e["createdDate"] for e in page["elements"]]
                url = page["nextPageUrl"]
                self.assertLess(pages, 200, "the walk does not end")
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])
        self.assertGreater(len(added), pages - 1)
        self.assertEqual(len(seen), len(set(seen)), "a post was returned twice")
        self.assertEqual(existing - set(seen), set(), "a post was missed")
        self.assertEqual(dates, sorted(dates, reverse=True), "not newest first")


class Expiry(FeedTest):
    def test_a_group_leaves_the_feed_when_it_expires(self):
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        d = group_def([link_def("Ui", label="View")], policy="OncePerUser")
        d["expirationDate"] = iso_ms(expires)
        r = self.creator.create_group(d)
        self.assertEqual(r.status, 201, r)
        g = r.json()
        gid, link = g["id"], g["actionLinks"][0]["id"]
        item = self.posted(groups=[gid])
        # Before expiry: it executes, and it shows in the feed and the capability.
        self.assertEqual(group_ids(item), [gid])
        r = self.peer.set_status(link, "PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus")
        self.assertEqual(group_ids(self.peer.get(item["url"]).json()), [gid])
        caps = self.peer.get(item["url"] + "/capabilities/associated-actions").json()
        self.assertEqual([x["id"] for x in caps["platformActionGroups"]], [gid])
        news = self.peer.get(NEWS).json()["elements"]
        self.assertEqual(group_ids([e for e in news if e["id"] == item["id"]][0]), [gid])
        still_before = datetime.datetime.now(datetime.timezone.utc) < expires
        self.assertTrue(still_before, "the checks before expiry took longer than 3 s")

        # Poll (never sleeping longer than the expiry itself) until it is gone.
        deadline = time.monotonic() + 15
        while group_ids(self.peer.get(item["url"]).json()):
            self.assertLess(time.monotonic(), deadline, "the group never left the post")
            time.sleep(0.05)
        self.assertGreaterEqual(datetime.datetime.now(datetime.timezone.utc), expires)

        # After: gone from the feed and the capability, a new execution is refused, and
        # the group and link themselves still answer.
        caps = self.peer.get(item["url"] + "/capabilities/associated-actions").json()
        self.assertEqual(caps, {"platformActionGroups": []})
        news = self.creator.get(NEWS).json()["elements"]
        self.assertEqual(group_ids([e for e in news if e["id"] == item["id"]][0]), [])
        self.assertError(self.admin.set_status(link, "PendingStatus"), 409,
                         "ACTION_LINK_EXPIRED")
        self.assertError(self.creator.set_status(link, "PendingStatus"), 409,
                         "ACTION_LINK_EXPIRED")
        self.assertEqual(self.peer.group(gid).status, 200)
        r = self.peer.link(link)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus")
        self.assertEqual(self.creator.get(DEFS + gid).status, 200)
        # An execution that exists goes on after expiry (SPEC 11.2).
        self.assertEqual(self.peer.set_status(link, "SuccessfulStatus").status, 200)
        # An expired group cannot be attached to a new post.
        self.assertError(self.post(groups=[gid]), 400, "INVALID_API_INPUT",
                         GROUPS_FIELD + "[0]")


if __name__ == "__main__":
    harness.main()

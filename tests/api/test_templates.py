"""Templates (SPEC 8, 11.8) through the sObject endpoints, against the real binary:
every field rule of ActionLinkGroupTemplate and ActionLinkTemplate (each refusal names
its field), permissions, ids, publishing and the rules after it, instantiation through
POST action-link-group-definitions, each visibility option as seen by several users, a
template-made Api group whose callout to a real sink carries the bound values and the
context variables (then the published ActionUrl is edited and the next execution uses
the new URL), the cascade delete of a published template, and `template import`.

Results are awaited by polling with a deadline, never by a bare sleep."""
import datetime
import json
import os
import subprocess
import time
import uuid

import harness
from harness import wait_until as poll
from harness import API, AL_BIN, in_days
from sink import Sink

GT = API + "/sobjects/ActionLinkGroupTemplate"
LT = API + "/sobjects/ActionLinkTemplate"
DEFS = API + "/connect/action-link-group-definitions"
CALLOUT_ARGS = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32")


def tag():
    return uuid.uuid4().hex[:10]


def gt_body(**extra):
    d = {"DeveloperName": "T_" + tag(), "MasterLabel": "A template", "Category": "Primary",
         "ExecutionsAllowed": "OncePerUser"}
    d.update(extra)
    return d


def lt_body(gt_id, **extra):
    d = {"ActionLinkGroupTemplateId": gt_id, "LinkType": "Api",
         "ActionUrl": "https://example.com/{!Bindings.id}", "Method": "HttpPost",
         "LabelKey": "Approve", "Position": 0, "UserVisibility": "Everyone",
         "IsConfirmationRequired": False}
    d.update(extra)
    return d


class TemplateTest(harness.ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.server.user("admin", "--customize-application")
        cls.plain = cls.server.user("plain")

    def create_gt(self, **extra):
        r = self.admin.post(GT, gt_body(**extra))
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def create_lt(self, gt_id, **extra):
        r = self.admin.post(LT, lt_body(gt_id, **extra))
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def publish(self, gt_id):
        r = self.admin.patch(GT + "/" + gt_id, {"IsPublished": True})
        self.assertEqual(r.status, 204, r)

    def published(self, links, **extra):
        """A published group template with the given link templates (dicts of fields)."""
        gt_id = self.create_gt(**extra)
        ids = [self.create_lt(gt_id, Position=i, **l) for i, l in enumerate(links)]
        self.publish(gt_id)
        return gt_id, ids

    def instantiate(self, client, gt_id, bindings=(), **extra):
        body = {"templateId": gt_id,
                "templateBindings": [{"key": k, "value": v} for k, v in bindings]}
        body.update(extra)
        return client.post(DEFS, body)

    def counts(self):
        return [self.server.sql("SELECT count(*) FROM " + t)[0][0]
                for t in ("group_templates", "link_templates", "groups", "links")]


class GroupTemplateFields(TemplateTest):
    def test_create_and_get(self):
        name = "Expense_" + tag()
        r = self.admin.post(GT, {"DeveloperName": name, "MasterLabel": "Expense",
                                 "Category": "Overflow", "ExecutionsAllowed": "Once",
                                 "HoursUntilExpiration": 24, "IsPublished": "false"})
        self.assertEqual(r.status, 201, r)
        body = r.json()
        self.assertEqual(set(body), {"id", "success", "errors"})
        self.assertTrue(body["success"])
        self.assertEqual(body["errors"], [])
        self.assertEqual(len(body["id"]), 18)
        self.assertTrue(body["id"].startswith("07g"))
        g = self.admin.get(GT + "/" + body["id"])
        self.assertEqual(g.status, 200, g)
        rec = g.json()
        self.assertEqual(rec["attributes"], {"type": "ActionLinkGroupTemplate",
                                             "url": GT + "/" + body["id"]})
        self.assertEqual(rec["Id"], body["id"])
        self.assertEqual(rec["DeveloperName"], name)
        self.assertEqual(rec["MasterLabel"], "Expense")
        self.assertEqual(rec["Category"], "Overflow")
        self.assertEqual(rec["ExecutionsAllowed"], "Once")
        self.assertEqual(rec["HoursUntilExpiration"], 24)
        self.assertIs(rec["IsPublished"], False)
        self.assertEqual(rec["CreatedById"], self.admin.user_id)
        for k in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            self.assertRegex(rec[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # the 15-character id names it too
        self.assertEqual(self.admin.get(GT + "/" + body["id"][:15]).status, 200)
        # HEAD answers like GET, without a body
        h = self.admin.request("HEAD", GT + "/" + body["id"])
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, "")

    def test_hours_absent_is_null(self):
        gt_id = self.create_gt()
        self.assertIsNone(self.admin.get(GT + "/" + gt_id).json()["HoursUntilExpiration"])

    def test_field_rules(self):
        cases = [
            ({"DeveloperName": None}, "DeveloperName"),
            ({"DeveloperName": ""}, "DeveloperName"),
            ({"DeveloperName": "has space"}, "DeveloperName"),
            ({"DeveloperName": "dash-ed"}, "DeveloperName"),
            ({"DeveloperName": "a" * 81}, "DeveloperName"),
            ({"DeveloperName": 12}, "DeveloperName"),
            ({"MasterLabel": None}, "MasterLabel"),
            ({"MasterLabel": "m" * 81}, "MasterLabel"),
            ({"Category": "Secondary"}, "Category"),
            ({"Category": None}, "Category"),
            ({"ExecutionsAllowed": "Always"}, "ExecutionsAllowed"),
            ({"ExecutionsAllowed": None}, "ExecutionsAllowed"),
            ({"HoursUntilExpiration": 8761}, "HoursUntilExpiration"),
            ({"HoursUntilExpiration": -1}, "HoursUntilExpiration"),
            ({"HoursUntilExpiration": "12"}, "HoursUntilExpiration"),
            ({"IsPublished": "yes"}, "IsPublished"),
            # published at creation: it has no link templates yet
            ({"IsPublished": True}, "IsPublished"),
        ]
        before = self.counts()
        for change, field in cases:
            with self.subTest(change=change):
                body = gt_body()
                for k, v in change.items():
                    if v is None:
                        body.pop(k)
                    else:
                        body[k] = v
                self.assertError(self.admin.post(GT, body), 400, "INVALID_API_INPUT", field)
        self.assertEqual(self.counts(), before)
        # the edges are accepted
        for ok in ({"HoursUntilExpiration": 0}, {"HoursUntilExpiration": 8760},
                   {"DeveloperName": "A_1_" + "b" * 76}, {"MasterLabel": "\u00e9" * 80}):
            with self.subTest(ok=ok):
                self.assertEqual(self.admin.post(GT, gt_body(**ok)).status, 201)

    def test_duplicate_developer_name(self):
        name = "Dup_" + tag()
        self.create_gt(DeveloperName=name)
        r = self.admin.post(GT, gt_body(DeveloperName=name))
        self.assertError(r, 400, "DUPLICATE_VALUE", "DeveloperName")
        other = self.create_gt()
        r = self.admin.patch(GT + "/" + other, {"DeveloperName": name})
        self.assertError(r, 400, "DUPLICATE_VALUE", "DeveloperName")

    def test_patch_before_publish(self):
        gt_id = self.create_gt()
        r = self.admin.patch(GT + "/" + gt_id, {"Category": "Overflow", "MasterLabel": "New",
                                               "HoursUntilExpiration": 5,
                                               "ExecutionsAllowed": "Once"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, "")
        rec = self.admin.get(GT + "/" + gt_id).json()
        self.assertEqual((rec["Category"], rec["MasterLabel"], rec["HoursUntilExpiration"],
                          rec["ExecutionsAllowed"]), ("Overflow", "New", 5, "Once"))
        self.assertError(self.admin.patch(GT + "/" + gt_id, {"Category": "Side"}), 400,
                         "INVALID_API_INPUT", "Category")

    def test_permission(self):
        gt_id = self.create_gt()
        lt_id = self.create_lt(gt_id)
        for method, path, body in (("POST", GT, gt_body()), ("GET", GT + "/" + gt_id, None),
                                   ("PATCH", GT + "/" + gt_id, {"MasterLabel": "x"}),
                                   ("DELETE", GT + "/" + gt_id, None),
                                   ("POST", LT, lt_body(gt_id)), ("GET", LT + "/" + lt_id, None),
                                   ("PATCH", LT + "/" + lt_id, {"ActionUrl": "https://e.com"}),
                                   ("DELETE", LT + "/" + lt_id, None)):
            with self.subTest(method=method, path=path):
                r = self.plain.request(method, path, body=body)
                self.assertError(r, 403, "INSUFFICIENT_ACCESS")
        self.assertEqual(self.admin.get(GT + "/" + gt_id).json()["MasterLabel"], "A template")
        self.assertEqual(self.admin.get(LT + "/" + lt_id).status, 200)
        # no token at all
        self.assertError(self.server.client().get(GT + "/" + gt_id), 401, "INVALID_SESSION_ID")

    def test_ids(self):
        gt_id = self.create_gt()
        lt_id = self.create_lt(gt_id)
        for path in (GT + "/abc", GT + "/" + lt_id, GT + "/07g0000000000000",
                     LT + "/" + gt_id, LT + "/xyz"):
            for method in ("GET", "PATCH", "DELETE"):
                with self.subTest(path=path, method=method):
                    r = self.admin.request(method, path,
                                           body={"MasterLabel": "x"} if method == "PATCH"
                                           else None)
                    self.assertError(r, 400, "INVALID_ID_FIELD")
        unknown_gt, unknown_lt = "07g" + "0" * 11 + "1", "07l" + "0" * 11 + "1"
        for path in (GT + "/" + unknown_gt, LT + "/" + unknown_lt):
            for method in ("GET", "PATCH", "DELETE"):
                with self.subTest(path=path, method=method):
                    r = self.admin.request(method, path,
                                           body={"MasterLabel": "x"} if method == "PATCH"
                                           else None)
                    self.assertError(r, 404, "NOT_FOUND")

    def test_bad_bodies(self):
        gt_id = self.create_gt()
        self.assertError(self.admin.post(GT, raw=b"{nope"), 400, "JSON_PARSER_ERROR")
        self.assertError(self.admin.post(GT, [1]), 400, "INVALID_API_INPUT")
        self.assertError(self.admin.patch(GT + "/" + gt_id, raw=b"[}"), 400,
                         "JSON_PARSER_ERROR")

    def test_delete(self):
        gt_id = self.create_gt()
        lt_id = self.create_lt(gt_id)
        r = self.admin.delete(GT + "/" + gt_id)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, "")
        self.assertError(self.admin.get(GT + "/" + gt_id), 404, "NOT_FOUND")
        self.assertError(self.admin.get(LT + "/" + lt_id), 404, "NOT_FOUND")
        self.assertError(self.admin.delete(GT + "/" + gt_id), 404, "NOT_FOUND")


class LinkTemplateFields(TemplateTest):
    def test_create_and_get(self):
        gt_id = self.create_gt()
        r = self.admin.post(LT, {
            "ActionLinkGroupTemplateId": gt_id[:15], "LinkType": "ApiAsync",
            "ActionUrl": "https://api.example.com/{!Bindings.id}?u={!userId}",
            "Headers": "Authorization: Bearer {!Bindings.token}\nX-Org: {!orgId}",
            "Method": "HttpPut", "LabelKey": "None", "Label": "Ship it", "Position": 2,
            "RequestBody": "{\"id\":\"{!Bindings.id}\"}", "UserAlias": "{!Bindings.who}",
            "UserVisibility": "CustomUser", "IsConfirmationRequired": "true",
            "IsGroupDefault": True})
        self.assertEqual(r.status, 201, r)
        body = r.json()
        self.assertEqual((body["success"], body["errors"]), (True, []))
        self.assertTrue(body["id"].startswith("07l"))
        rec = self.admin.get(LT + "/" + body["id"]).json()
        self.assertEqual(rec["attributes"], {"type": "ActionLinkTemplate",
                                             "url": LT + "/" + body["id"]})
        expect = {"Id": body["id"], "ActionLinkGroupTemplateId": gt_id, "LinkType": "ApiAsync",
                  "ActionUrl": "https://api.example.com/{!Bindings.id}?u={!userId}",
                  "Headers": "Authorization: Bearer {!Bindings.token}\nX-Org: {!orgId}",
                  "Method": "HttpPut", "LabelKey": "None", "Label": "Ship it", "Position": 2,
                  "RequestBody": "{\"id\":\"{!Bindings.id}\"}", "UserAlias": "{!Bindings.who}",
                  "UserVisibility": "CustomUser", "IsConfirmationRequired": True,
                  "IsGroupDefault": True}
        for k, v in expect.items():
            self.assertEqual(rec[k], v, k)

    def test_defaults(self):
        gt_id = self.create_gt()
        self.create_lt(gt_id, Position=4)
        r = self.admin.post(LT, {"ActionLinkGroupTemplateId": gt_id, "LinkType": "Ui",
                                 "ActionUrl": "https://example.com/", "Method": "HttpGet",
                                 "LabelKey": "View"})
        self.assertEqual(r.status, 201, r)
        rec = self.admin.get(LT + "/" + r.json()["id"]).json()
        self.assertEqual(rec["Position"], 5)  # after the last one
        self.assertEqual(rec["UserVisibility"], "Everyone")
        self.assertIs(rec["IsConfirmationRequired"], False)
        self.assertIs(rec["IsGroupDefault"], False)
        for k in ("Headers", "RequestBody", "Label", "UserAlias"):
            self.assertIsNone(rec[k], k)

    def test_field_rules(self):
        gt_id = self.create_gt()
        big_headers = "\n".join("X-H%d: v" % i for i in range(33))
        cases = [
            ({"ActionLinkGroupTemplateId": None}, "ActionLinkGroupTemplateId", "INVALID_API_INPUT"),
            ({"ActionLinkGroupTemplateId": "0Ag000000000001"}, "ActionLinkGroupTemplateId",
             "INVALID_ID_FIELD"),
            ({"ActionLinkGroupTemplateId": "07g" + "0" * 11 + "1"}, "ActionLinkGroupTemplateId",
             "INVALID_API_INPUT"),
            ({"LinkType": None}, "LinkType", "INVALID_API_INPUT"),
            ({"LinkType": "Web"}, "LinkType", "INVALID_API_INPUT"),
            ({"ActionUrl": None}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "ftp://example.com/"}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "http://example.com/"}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "example.com/x"}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "https://example.com/" + "a" * 4100}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "https://example.com/{!unknown}"}, "ActionUrl", "INVALID_API_INPUT"),
            ({"ActionUrl": "https://example.com/a b"}, "ActionUrl", "INVALID_API_INPUT"),
            ({"Method": None}, "Method", "INVALID_API_INPUT"),
            ({"Method": "POST"}, "Method", "INVALID_API_INPUT"),
            ({"LinkType": "Download", "Method": "HttpPost", "LabelKey": "Download"}, "Method",
             "INVALID_API_INPUT"),
            ({"LinkType": "Ui", "Method": "HttpDelete"}, "Method", "INVALID_API_INPUT"),
            ({"LabelKey": None}, "LabelKey", "INVALID_API_INPUT"),
            ({"LabelKey": "approve"}, "LabelKey", "INVALID_API_INPUT"),
            ({"LabelKey": "None"}, "Label", "INVALID_API_INPUT"),
            ({"LabelKey": "None", "Label": "x" * 81}, "Label", "INVALID_API_INPUT"),
            ({"Label": "custom"}, "Label", "INVALID_API_INPUT"),
            ({"Headers": "no colon here"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "Bad Name: x"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "Host: example.com"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "Content-Length: 3"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "transfer-encoding: chunked"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "CONNECTION: close"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "X-A: " + "v" * 8193}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": big_headers}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": "X-A: {!nope}"}, "Headers", "INVALID_API_INPUT"),
            ({"Headers": ["X-A: b"]}, "Headers", "INVALID_API_INPUT"),
            ({"LinkType": "Ui", "Method": "HttpGet", "Headers": "X-A: b"}, "Headers",
             "INVALID_API_INPUT"),
            ({"RequestBody": "x" * 65537}, "RequestBody", "INVALID_API_INPUT"),
            ({"RequestBody": "{!nope}"}, "RequestBody", "INVALID_API_INPUT"),
            ({"LinkType": "Download", "Method": "HttpGet", "RequestBody": "x"}, "RequestBody",
             "INVALID_API_INPUT"),
            ({"Position": -1}, "Position", "INVALID_API_INPUT"),
            ({"Position": "first"}, "Position", "INVALID_API_INPUT"),
            ({"UserVisibility": "Admins"}, "UserVisibility", "INVALID_API_INPUT"),
            ({"UserVisibility": "CustomUser"}, "UserAlias", "INVALID_API_INPUT"),
            ({"UserVisibility": "CustomExcludedUser", "UserAlias": ""}, "UserAlias",
             "INVALID_API_INPUT"),
            ({"IsConfirmationRequired": "maybe"}, "IsConfirmationRequired", "INVALID_API_INPUT"),
            ({"IsGroupDefault": 1}, "IsGroupDefault", "INVALID_API_INPUT"),
        ]
        before = self.counts()
        for change, field, code in cases:
            with self.subTest(change=str(change)[:80]):
                body = lt_body(gt_id)
                for k, v in change.items():
                    if v is None:
                        body.pop(k)
                    else:
                        body[k] = v
                self.assertError(self.admin.post(LT, body), 400, code, field)
        self.assertEqual(self.counts(), before)

    def test_accepted_edges(self):
        gt_id = self.create_gt(Category="Overflow")
        oks = [
            {"Headers": "\n".join("X-H%d: {!Bindings.v%d}" % (i, i) for i in range(32))},
            {"Headers": "X-A: " + "v" * 8192 + "\r\nX-B: {!userId}"},
            {"RequestBody": "x" * 65536},
            {"ActionUrl": "/services/data/v66.0/connect/action-links/{!Bindings.link}"},
            {"LinkType": "Download", "Method": "HttpGet", "LabelKey": "None",
             "Label": "L" * 80},
        ]
        for i, ok in enumerate(oks):
            with self.subTest(ok=str(ok)[:60]):
                if i == 4:
                    gt_id = self.create_gt(Category="Overflow")
                r = self.admin.post(LT, lt_body(gt_id, **ok))
                self.assertEqual(r.status, 201, r)

    def test_http_needs_the_server_flag(self):
        gt_id = self.create_gt()
        r = self.admin.post(LT, lt_body(gt_id, ActionUrl="http://example.com/"))
        self.assertError(r, 400, "INVALID_API_INPUT", "ActionUrl")

    def test_at_most_four(self):
        gt_id = self.create_gt(Category="Overflow")
        for i in range(4):
            self.create_lt(gt_id, Position=i)
        r = self.admin.post(LT, lt_body(gt_id, Position=9))
        self.assertError(r, 400, "INVALID_API_INPUT", "ActionLinkGroupTemplateId")

    def test_patch_before_publish(self):
        gt_id = self.create_gt()
        lt_id = self.create_lt(gt_id)
        r = self.admin.patch(LT + "/" + lt_id, {"LinkType": "Ui", "Method": "HttpGet",
                                               "UserVisibility": "Creator",
                                               "ActionUrl": "https://example.com/ui"})
        self.assertEqual(r.status, 204, r)
        rec = self.admin.get(LT + "/" + lt_id).json()
        self.assertEqual((rec["LinkType"], rec["Method"], rec["UserVisibility"]),
                         ("Ui", "HttpGet", "Creator"))
        # the whole record is checked: a Ui link cannot become HttpPost
        self.assertError(self.admin.patch(LT + "/" + lt_id, {"Method": "HttpPost"}), 400,
                         "INVALID_API_INPUT", "Method")
        other = self.create_gt()
        self.assertError(self.admin.patch(LT + "/" + lt_id,
                                          {"ActionLinkGroupTemplateId": other}),
                         400, "INVALID_API_INPUT", "ActionLinkGroupTemplateId")
        r = self.admin.delete(LT + "/" + lt_id)
        self.assertEqual(r.status, 204, r)
        self.assertError(self.admin.get(LT + "/" + lt_id), 404, "NOT_FOUND")


class Publishing(TemplateTest):
    def test_needs_a_link_template(self):
        gt_id = self.create_gt()
        self.assertError(self.admin.patch(GT + "/" + gt_id, {"IsPublished": True}), 400,
                         "INVALID_API_INPUT", "IsPublished")

    def test_category_limits(self):
        gt_id = self.create_gt(Category="Overflow")
        for i in range(4):
            self.create_lt(gt_id, Position=i)
        self.assertEqual(self.admin.patch(GT + "/" + gt_id, {"Category": "Primary"}).status,
                         204)
        self.assertError(self.admin.patch(GT + "/" + gt_id, {"IsPublished": True}), 400,
                         "INVALID_API_INPUT", "IsPublished")
        r = self.admin.patch(GT + "/" + gt_id, {"Category": "Overflow", "IsPublished": True})
        self.assertEqual(r.status, 204, r)

    def test_one_default(self):
        gt_id = self.create_gt()
        self.create_lt(gt_id, IsGroupDefault=True)
        self.create_lt(gt_id, Position=1, IsGroupDefault="true")
        self.assertError(self.admin.patch(GT + "/" + gt_id, {"IsPublished": True}), 400,
                         "INVALID_API_INPUT", "IsGroupDefault")

    def test_unlimited_not_with_api(self):
        for link_type in ("Api", "ApiAsync"):
            with self.subTest(link_type=link_type):
                gt_id = self.create_gt(ExecutionsAllowed="Unlimited")
                self.create_lt(gt_id, LinkType=link_type)
                self.assertError(self.admin.patch(GT + "/" + gt_id, {"IsPublished": "true"}),
                                 400, "INVALID_API_INPUT", "ExecutionsAllowed")
        gt_id = self.create_gt(ExecutionsAllowed="Unlimited")
        self.create_lt(gt_id, LinkType="Download", Method="HttpGet", LabelKey="Download")
        self.publish(gt_id)

    def test_after_publish(self):
        gt_id, (lt_id, other_id) = self.published(
            [{"ActionUrl": "https://example.com/{!Bindings.id}",
              "Headers": "X-Token: {!Bindings.token}", "RequestBody": "a={!Bindings.id}"},
             {"LinkType": "Ui", "Method": "HttpGet", "ActionUrl": "https://example.com/ui",
              "LabelKey": "View"}])
        g = GT + "/" + gt_id
        self.assertEqual(self.admin.patch(g, {"MasterLabel": "Renamed"}).status, 204)
        self.assertEqual(self.admin.get(g).json()["MasterLabel"], "Renamed")
        # the same values again are no change
        rec = self.admin.get(g).json()
        r = self.admin.patch(g, {"Category": rec["Category"], "IsPublished": True})
        self.assertEqual(r.status, 204, r)
        for change, field in (({"IsPublished": False}, "IsPublished"),
                              ({"Category": "Overflow"}, "Category"),
                              ({"ExecutionsAllowed": "Once"}, "ExecutionsAllowed"),
                              ({"HoursUntilExpiration": 3}, "HoursUntilExpiration"),
                              ({"DeveloperName": "Other_" + tag()}, "DeveloperName")):
            with self.subTest(change=change):
                self.assertError(self.admin.patch(g, change), 400, "INVALID_API_INPUT", field)
        self.assertIs(self.admin.get(g).json()["IsPublished"], True)

        l = LT + "/" + lt_id
        for change, field in (({"LinkType": "ApiAsync"}, "LinkType"),
                              ({"Method": "HttpPut"}, "Method"),
                              ({"LabelKey": "Decline"}, "LabelKey"),
                              ({"Position": 7}, "Position"),
                              ({"UserVisibility": "Creator"}, "UserVisibility"),
                              ({"IsConfirmationRequired": True}, "IsConfirmationRequired"),
                              ({"IsGroupDefault": True}, "IsGroupDefault"),
                              ({"UserAlias": "someone"}, "UserAlias"),
                              ({"ActionUrl": "https://example.com/{!Bindings.newone}"},
                               "ActionUrl"),
                              ({"Headers": "X-New: {!Bindings.fresh}"}, "Headers"),
                              ({"RequestBody": "{!Bindings.other}"}, "RequestBody")):
            with self.subTest(change=change):
                self.assertError(self.admin.patch(l, change), 400, "INVALID_API_INPUT", field)
        # the texts may change, with the binding variables already used
        r = self.admin.patch(l, {"ActionUrl": "https://new.example.com/{!Bindings.token}",
                                 "Headers": "X-Id: {!Bindings.id}\nX-User: {!userId}",
                                 "RequestBody": None})
        self.assertEqual(r.status, 204, r)
        rec = self.admin.get(l).json()
        self.assertEqual(rec["ActionUrl"], "https://new.example.com/{!Bindings.token}")
        self.assertIsNone(rec["RequestBody"])
        # no link templates added or removed
        self.assertError(self.admin.post(LT, lt_body(gt_id, Position=5)), 400,
                         "INVALID_API_INPUT", "ActionLinkGroupTemplateId")
        self.assertError(self.admin.delete(LT + "/" + other_id), 400, "INVALID_API_INPUT")
        self.assertEqual(self.admin.get(LT + "/" + other_id).status, 200)


class Instantiation(TemplateTest):
    def test_definition(self):
        gt_id, (api_id, ui_id) = self.published(
            [{"ActionUrl": "https://example.com/{!Bindings.id}?u={!userId}",
              "Headers": "X-Token: {!Bindings.token}\nX-Link: {!actionLinkId}",
              "RequestBody": "{\"id\":\"{!Bindings.id}\"}", "IsConfirmationRequired": True},
             {"LinkType": "Ui", "Method": "HttpGet", "LabelKey": "None", "Label": "Open",
              "ActionUrl": "https://example.com/ui/{!Bindings.id}", "IsGroupDefault": True}],
            HoursUntilExpiration=48, ExecutionsAllowed="Once")
        alice = self.server.user("inst_" + tag())
        before = time.time()
        r = self.instantiate(alice, gt_id, [("Bindings.id", "42"), ("token", "s3cret")])
        self.assertEqual(r.status, 201, r)
        d = r.json()
        self.assertEqual(d["templateId"], gt_id)
        self.assertEqual(d["category"], "Primary")
        self.assertEqual(d["executionsAllowed"], "Once")
        exp = datetime.datetime.strptime(d["expirationDate"], "%Y-%m-%dT%H:%M:%S.%fZ")
        exp = exp.replace(tzinfo=datetime.timezone.utc).timestamp()
        self.assertAlmostEqual(exp - before, 48 * 3600, delta=120)
        a, u = d["actionLinks"]
        self.assertEqual(a["templateId"], api_id)
        self.assertEqual(u["templateId"], ui_id)
        self.assertEqual(a["actionUrl"], "https://example.com/42?u={!userId}")
        self.assertEqual(a["headers"], [{"name": "X-Token", "value": "s3cret"},
                                        {"name": "X-Link", "value": "{!actionLinkId}"}])
        self.assertEqual(a["requestBody"], "{\"id\":\"42\"}")
        self.assertIs(a["requiresConfirmation"], True)
        self.assertEqual(a["labelKey"], "Approve")
        self.assertEqual(u["labelKey"], "None")
        self.assertEqual(u["label"], "Open")
        self.assertIs(u["groupDefault"], True)
        self.assertEqual(u["actionUrl"], "https://example.com/ui/42")
        self.assertIsNone(a["userId"])
        self.assertIsNone(a["excludedUserId"])
        # read back the same, and the custom label shows in the caller's view
        self.assertEqual(alice.get(DEFS + "/" + d["id"]).json(), d)
        view = alice.group(d["id"]).json()
        labels = [p["label"] for p in view["platformActions"]]
        self.assertEqual(labels, ["Approve", "Open"])
        self.assertEqual(alice.link(u["id"]).json()["label"], "Open")
        self.assertEqual(alice.set_status(u["id"], "PendingStatus").json()["label"],
                         "Open Pending")

    def test_expiration(self):
        gt_id, _ = self.published([{"LinkType": "Ui", "Method": "HttpGet",
                                    "ActionUrl": "https://example.com/"}],
                                  HoursUntilExpiration=10)
        user = self.server.user("exp_" + tag())
        when = in_days(3)
        d = self.instantiate(user, gt_id, expirationDate=when).json()
        self.assertEqual(d["expirationDate"], when)
        never_id, _ = self.published([{"LinkType": "Ui", "Method": "HttpGet",
                                       "ActionUrl": "https://example.com/"}])
        self.assertIsNone(self.instantiate(user, never_id).json()["expirationDate"])
        zero_id, _ = self.published([{"LinkType": "Ui", "Method": "HttpGet",
                                      "ActionUrl": "https://example.com/"}],
                                    HoursUntilExpiration=0)
        self.assertIsNone(self.instantiate(user, zero_id).json()["expirationDate"])
        for bad in (in_days(-1), in_days(366), "soon"):
            with self.subTest(expirationDate=bad):
                self.assertError(self.instantiate(user, gt_id, expirationDate=bad), 400,
                                 "INVALID_API_INPUT", "expirationDate")

    def test_refusals(self):
        gt_id, _ = self.published([{"ActionUrl": "https://example.com/{!Bindings.id}",
                                    "RequestBody": "{!Bindings.body}"}])
        user = self.server.user("ref_" + tag())
        draft = self.create_gt()
        self.create_lt(draft)
        before = self.counts()
        ok = [("id", "1"), ("body", "b")]
        r = self.instantiate(user, gt_id, [("id", "1")])
        self.assertError(r, 400, "INVALID_API_INPUT", "Bindings.body")
        self.assertError(self.instantiate(user, gt_id), 400, "INVALID_API_INPUT", "Bindings.id")
        for extra, field in (({"actionLinks": []}, "actionLinks"),
                             ({"category": "Primary"}, "category"),
                             ({"executionsAllowed": "Once"}, "executionsAllowed")):
            with self.subTest(extra=extra):
                self.assertError(self.instantiate(user, gt_id, ok, **extra), 400,
                                 "INVALID_API_INPUT", field)
        self.assertError(user.post(DEFS, {"templateId": gt_id, "templateBindings": {"id": "1"}}),
                         400, "INVALID_API_INPUT", "templateBindings")
        self.assertError(user.post(DEFS, {"templateId": gt_id, "templateBindings": [
            {"key": "id", "value": 1}]}), 400, "INVALID_API_INPUT", "templateBindings")
        self.assertError(self.instantiate(user, gt_id, ok + [("Bindings.id", "2")]), 400,
                         "INVALID_API_INPUT", "templateBindings")
        # a bound value that makes the URL invalid
        self.assertError(self.instantiate(user, gt_id, [("id", "a b"), ("body", "x")]), 400,
                         "INVALID_API_INPUT", "ActionUrl")
        # unpublished, unknown, wrong kind
        self.assertError(self.instantiate(user, draft, ok), 400, "INVALID_API_INPUT",
                         "templateId")
        self.assertError(self.instantiate(user, "07g" + "0" * 11 + "9", ok), 400,
                         "INVALID_API_INPUT", "templateId")
        self.assertError(self.instantiate(user, "0Ag" + "0" * 11 + "9", ok), 400,
                         "INVALID_ID_FIELD", "templateId")
        self.assertEqual(self.counts(), before)
        # extra bindings are harmless; any user may instantiate
        self.assertEqual(self.instantiate(self.plain, gt_id, ok + [("extra", "x")]).status, 201)

    def test_header_values_cannot_add_headers(self):
        gt_id, _ = self.published([{"Headers": "X-A: {!Bindings.v}"}])
        user = self.server.user("inj_" + tag())
        r = self.instantiate(user, gt_id, [("id", "1"), ("v", "a\r\nX-Evil: 1")])
        self.assertError(r, 400, "INVALID_API_INPUT", "Headers")


class Visibility(TemplateTest):
    """Each UserVisibility, seen by the creator, the creator's manager, a custom user and
    someone else: the group view and direct GETs show exactly the links the rules give."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = tag()
        cls.boss = cls.server.user("boss_" + t)
        cls.alice = cls.server.user("alice_" + t, "--manager", "boss_" + t)
        cls.carol = cls.server.user("carol_" + t)
        cls.dave = cls.server.user("dave_" + t)

    def links(self, visibilities):
        out = []
        for v in visibilities:
            d = {"LinkType": "Ui", "Method": "HttpGet", "ActionUrl": "https://example.com/" + v,
                 "LabelKey": "None", "Label": v, "UserVisibility": v}
            if v.startswith("Custom"):
                d["UserAlias"] = "{!Bindings.who}"
            out.append(d)
        return out

    def check(self, group, expect):
        """expect: client -> the labels that client sees, in order."""
        links = {k["label"]: k["id"] for k in group["actionLinks"]}
        for client, labels in expect:
            with self.subTest(user=client.username):
                r = client.group(group["id"])
                if labels:
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual([p["label"] for p in r.json()["platformActions"]], labels)
                else:
                    self.assertError(r, 404, "NOT_FOUND")
                for label, link_id in links.items():
                    r = client.link(link_id)
                    self.assertEqual(r.status, 200 if label in labels else 404,
                                     (client.username, label, r))

    def test_creator_manager_custom_user(self):
        gt_id, _ = self.published(self.links(["Creator", "Manager", "CustomUser"]))
        g = self.instantiate(self.alice, gt_id, [("who", self.carol.username)])
        self.assertEqual(g.status, 201, g)
        g = g.json()
        by_label = {k["label"]: k for k in g["actionLinks"]}
        self.assertEqual(by_label["Creator"]["userId"], self.alice.user_id)
        self.assertEqual(by_label["Manager"]["userId"], self.boss.user_id)
        self.assertEqual(by_label["CustomUser"]["userId"], self.carol.user_id)
        self.check(g, [(self.alice, ["Creator"]), (self.boss, ["Manager"]),
                       (self.carol, ["CustomUser"]), (self.dave, [])])

    def test_everyone_but_creator_and_custom_excluded(self):
        gt_id, _ = self.published(
            self.links(["Everyone", "EveryoneButCreator", "CustomExcludedUser"]))
        # the alias as an 18-character user id this time
        g = self.instantiate(self.alice, gt_id, [("who", self.dave.user_id)]).json()
        by_label = {k["label"]: k for k in g["actionLinks"]}
        self.assertEqual(by_label["EveryoneButCreator"]["excludedUserId"], self.alice.user_id)
        self.assertEqual(by_label["CustomExcludedUser"]["excludedUserId"], self.dave.user_id)
        all3 = ["Everyone", "EveryoneButCreator", "CustomExcludedUser"]
        self.check(g, [(self.alice, ["Everyone", "CustomExcludedUser"]), (self.boss, all3),
                       (self.carol, all3), (self.dave, ["Everyone", "EveryoneButCreator"])])

    def test_the_15_character_id_as_alias(self):
        gt_id, _ = self.published(self.links(["CustomUser"]))
        g = self.instantiate(self.alice, gt_id, [("who", self.carol.user_id[:15])]).json()
        self.check(g, [(self.carol, ["CustomUser"]), (self.alice, [])])

    def test_no_manager_nobody_sees_it(self):
        gt_id, _ = self.published(self.links(["Manager", "Everyone"]))
        g = self.instantiate(self.carol, gt_id).json()  # carol has no manager
        self.check(g, [(self.carol, ["Everyone"]), (self.alice, ["Everyone"]),
                       (self.boss, ["Everyone"]), (self.dave, ["Everyone"])])
        # and nobody may execute it
        manager_link = [k for k in g["actionLinks"] if k["label"] == "Manager"][0]
        self.assertError(self.carol.set_status(manager_link["id"], "PendingStatus"), 404,
                         "NOT_FOUND")

    def test_unknown_alias(self):
        gt_id, _ = self.published(self.links(["CustomUser"]))
        for who in ("nobody_" + tag(), "005" + "0" * 12 + "AAA"):
            with self.subTest(who=who):
                self.assertError(self.instantiate(self.alice, gt_id, [("who", who)]), 400,
                                 "INVALID_API_INPUT", "UserAlias")

    def test_hidden_links_cannot_be_executed(self):
        gt_id, _ = self.published(self.links(["Creator", "EveryoneButCreator"]))
        g = self.instantiate(self.alice, gt_id).json()
        by_label = {k["label"]: k["id"] for k in g["actionLinks"]}
        self.assertError(self.boss.set_status(by_label["Creator"], "PendingStatus"), 404,
                         "NOT_FOUND")
        self.assertError(self.alice.set_status(by_label["EveryoneButCreator"], "PendingStatus"),
                         404, "NOT_FOUND")
        self.assertEqual(self.alice.set_status(by_label["Creator"], "PendingStatus").status, 200)


class Callouts(TemplateTest):
    server_args = CALLOUT_ARGS

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = Sink()

    @classmethod
    def tearDownClass(cls):
        cls.sink.close()
        super().tearDownClass()

    def wait_status(self, client, link_id, status):
        return poll(lambda: client.link(link_id).json()["status"] == status,
                    what="%s of %s" % (status, link_id))

    def wait_sink(self, marker):
        def find():
            return [q for q in self.sink.requests if marker in q.path]
        return poll(find, what="a request for " + marker)[0]

    def test_bound_values_and_context_variables_then_edit(self):
        t = tag()
        gt_id, (lt_id,) = self.published([{
            "ActionUrl": self.sink.url + "/v1/" + t + "/{!Bindings.order}?u={!userId}"
                         "&g={!actionLinkGroupId}",
            "Headers": "X-Secret: {!Bindings.secret}\nX-Link: {!actionLinkId}\n"
                       "X-Org: {!orgId}",
            "RequestBody": "{\"order\":\"{!Bindings.order}\",\"user\":\"{!userId}\"}",
            "Method": "HttpPost"}])
        alice = self.server.user("calla_" + t)
        bob = self.server.user("callb_" + t)
        org = self.server.sql("SELECT value FROM meta WHERE key = 'org_id'")[0][0]
        g = self.instantiate(alice, gt_id, [("order", "A-17"), ("Bindings.secret", "k3y")])
        self.assertEqual(g.status, 201, g)
        g = g.json()
        link_id = g["actionLinks"][0]["id"]
        r = alice.set_status(link_id, "PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.wait_status(alice, link_id, "SuccessfulStatus")
        q = self.wait_sink("/v1/" + t)
        self.assertEqual(q.method, "POST")
        self.assertEqual(q.path, "/v1/%s/A-17?u=%s&g=%s" % (t, alice.user_id, g["id"]))
        self.assertEqual(q.header("X-Secret"), "k3y")
        self.assertEqual(q.header("X-Link"), link_id)
        self.assertEqual(len(q.header("X-Org")), 18)
        self.assertEqual(q.header("X-Org")[:15], org)
        self.assertEqual(json.loads(q.body), {"order": "A-17", "user": alice.user_id})

        # Edit the published template: the group already made follows.
        r = self.admin.patch(LT + "/" + lt_id, {
            "ActionUrl": self.sink.url + "/v2/" + t + "/{!Bindings.order}?u={!userId}",
            "Headers": "X-Secret2: {!Bindings.secret}",
            "RequestBody": "order={!Bindings.order}"})
        self.assertEqual(r.status, 204, r)
        d = alice.get(DEFS + "/" + g["id"]).json()["actionLinks"][0]
        self.assertEqual(d["actionUrl"], self.sink.url + "/v2/" + t + "/A-17?u={!userId}")
        self.assertEqual(d["headers"], [{"name": "X-Secret2", "value": "k3y"}])
        self.assertEqual(d["requestBody"], "order=A-17")
        self.assertEqual(bob.set_status(link_id, "PendingStatus").status, 200)
        self.wait_status(bob, link_id, "SuccessfulStatus")
        q = self.wait_sink("/v2/" + t)
        self.assertEqual(q.path, "/v2/%s/A-17?u=%s" % (t, bob.user_id))
        self.assertEqual(q.header("X-Secret2"), "k3y")
        self.assertIsNone(q.header("X-Secret"))
        self.assertEqual(q.body, b"order=A-17")
        self.assertEqual([x for x in self.sink.requests if "/v1/" + t in x.path].__len__(), 1)

    def test_edit_reaches_every_group(self):
        t = tag()
        gt_id, (lt_id,) = self.published([{
            "ActionUrl": self.sink.url + "/e1/" + t + "/{!Bindings.n}", "Method": "HttpGet"}])
        users = [self.server.user("every%d_%s" % (i, t)) for i in range(3)]
        groups = [self.instantiate(u, gt_id, [("n", str(i))]).json()
                  for i, u in enumerate(users)]
        r = self.admin.patch(LT + "/" + lt_id,
                             {"ActionUrl": self.sink.url + "/e2/" + t + "/{!Bindings.n}"})
        self.assertEqual(r.status, 204, r)
        for i, (u, g) in enumerate(zip(users, groups)):
            link_id = g["actionLinks"][0]["id"]
            self.assertEqual(u.set_status(link_id, "PendingStatus").status, 200)
            self.wait_status(u, link_id, "SuccessfulStatus")
            self.wait_sink("/e2/%s/%d" % (t, i))
        self.assertFalse([q for q in self.sink.requests if "/e1/" + t in q.path])


class CascadeDelete(TemplateTest):
    def test_deleting_a_published_template_deletes_its_groups(self):
        gt_id, (lt_id,) = self.published([{"LinkType": "Ui", "Method": "HttpGet",
                                           "ActionUrl": "https://example.com/x"}])
        keep_id, _ = self.published([{"LinkType": "Ui", "Method": "HttpGet",
                                      "ActionUrl": "https://example.com/y"}])
        user = self.server.user("casc_" + tag())
        groups = [self.instantiate(user, gt_id).json() for _ in range(3)]
        kept = self.instantiate(user, keep_id).json()
        plain = user.create_group(harness.group_def([harness.link_def("Ui")])).json()
        link = groups[0]["actionLinks"][0]["id"]
        self.assertEqual(user.set_status(link, "PendingStatus").status, 200)
        r = self.admin.delete(GT + "/" + gt_id)
        self.assertEqual(r.status, 204, r)
        for g in groups:
            self.assertError(user.get(DEFS + "/" + g["id"]), 404, "NOT_FOUND")
            self.assertError(user.group(g["id"]), 404, "NOT_FOUND")
            self.assertError(user.link(g["actionLinks"][0]["id"]), 404, "NOT_FOUND")
        self.assertError(self.admin.get(LT + "/" + lt_id), 404, "NOT_FOUND")
        self.assertEqual(user.get(DEFS + "/" + kept["id"]).status, 200)
        self.assertEqual(user.get(DEFS + "/" + plain["id"]).status, 200)
        left = self.server.sql("SELECT count(*) FROM executions WHERE group_id IN (%s)" %
                               ",".join("?" * len(groups)),
                               [g["id"][:15] for g in groups])[0][0]
        self.assertEqual(left, 0)


class Import(TemplateTest):
    def write(self, doc):
        path = os.path.join(self.server.dir, "tpl_%s.json" % tag())
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def run_import(self, *args):
        return subprocess.run([AL_BIN, "template", "import"] + list(args) +
                              ["--db", self.server.db, "--json"],
                              capture_output=True, text=True, timeout=60)

    def test_import_publish_and_use(self):
        name = "Imported_" + tag()
        path = self.write({
            "DeveloperName": name, "MasterLabel": "Imported", "Category": "Primary",
            "ExecutionsAllowed": "OncePerUser", "HoursUntilExpiration": 12,
            "ActionLinkTemplates": [
                {"LinkType": "Api", "ActionUrl": "https://example.com/{!Bindings.id}",
                 "Method": "HttpPost", "LabelKey": "Approve", "Headers": "X-Id: {!Bindings.id}",
                 "IsGroupDefault": True},
                {"LinkType": "Ui", "ActionUrl": "https://example.com/view", "Method": "HttpGet",
                 "LabelKey": "None", "Label": "Look", "UserVisibility": "Creator"}]})
        out = self.server.admin("template", "import", path, "--publish")
        self.assertEqual(out["developerName"], name)
        self.assertIs(out["published"], True)
        self.assertEqual(len(out["linkTemplateIds"]), 2)
        rec = self.admin.get(GT + "/" + out["id"]).json()
        self.assertIs(rec["IsPublished"], True)
        self.assertEqual(rec["HoursUntilExpiration"], 12)
        lts = [self.admin.get(LT + "/" + i).json() for i in out["linkTemplateIds"]]
        self.assertEqual([l["Position"] for l in lts], [0, 1])
        self.assertEqual(lts[1]["Label"], "Look")
        user = self.server.user("imp_" + tag())
        g = self.instantiate(user, out["id"], [("id", "9")])
        self.assertEqual(g.status, 201, g)
        links = g.json()["actionLinks"]
        self.assertEqual(links[0]["actionUrl"], "https://example.com/9")
        self.assertEqual(links[1]["userId"], user.user_id)

    def test_import_unpublished(self):
        path = self.write({"DeveloperName": "Draft_" + tag(), "MasterLabel": "d",
                           "Category": "Overflow", "ExecutionsAllowed": "Once",
                           "ActionLinkTemplates": [{"LinkType": "Download",
                                                    "ActionUrl": "https://example.com/f",
                                                    "Method": "HttpGet",
                                                    "LabelKey": "Download"}]})
        out = self.server.admin("template", "import", path)
        self.assertIs(out["published"], False)
        self.assertIs(self.admin.get(GT + "/" + out["id"]).json()["IsPublished"], False)
        # still editable: add a link template through the API
        self.create_lt(out["id"], Position=3)

    def test_refused_imports_write_nothing(self):
        before = self.counts()
        base = {"DeveloperName": "Bad_" + tag(), "MasterLabel": "b", "Category": "Primary",
                "ExecutionsAllowed": "Unlimited",
                "ActionLinkTemplates": [{"LinkType": "Api", "ActionUrl": "https://e.com/",
                                         "Method": "HttpPost", "LabelKey": "Approve"}]}
        cases = [(dict(base), ["--publish"], "ExecutionsAllowed"),
                 (dict(base, ExecutionsAllowed="Once",
                       ActionLinkTemplates=[{"LinkType": "Api"}]), [],
                  "ActionLinkTemplates[0]."),
                 (dict(base, DeveloperName="bad name"), [], "DeveloperName"),
                 (dict(base, ExecutionsAllowed="Once", ActionLinkTemplates=[]), ["--publish"],
                  "IsPublished")]
        for doc, args, field in cases:
            with self.subTest(field=field):
                r = self.run_import(self.write(doc), *args)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn(field, r.stderr)
        r = self.run_import(os.path.join(self.server.dir, "missing.json"))
        self.assertEqual(r.returncode, 1)
        r = subprocess.run([AL_BIN, "template", "export", "x"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.counts(), before)

    def test_duplicate_name(self):
        name = "ImpDup_" + tag()
        doc = {"DeveloperName": name, "MasterLabel": "d", "Category": "Primary",
               "ExecutionsAllowed": "Once", "ActionLinkTemplates": []}
        self.server.admin("template", "import", self.write(doc))
        before = self.counts()
        r = self.run_import(self.write(doc))
        self.assertEqual(r.returncode, 1)
        self.assertIn("DeveloperName", r.stderr)
        self.assertEqual(self.counts(), before)


if __name__ == "__main__":
    harness.main()

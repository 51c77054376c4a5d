#!/usr/bin/env python3
"""Seeds the demo org of `make run` with posts carrying action link groups of every type,
through the API (the same calls an integration makes). Usage: demo-seed.py BASE TOKEN
ENDPOINT, where ENDPOINT is the demo third party (scripts/demo-endpoint.py)."""
import datetime
import json
import sys
import urllib.request

base, token, endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
api = base + "/services/data/v66.0"
expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=300)
           ).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def call(method, path, body):
    req = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def link(kind, path, label, method="HttpPost", **extra):
    d = {"actionType": kind, "actionUrl": endpoint + path, "method": method, "labelKey": label,
         "requiresConfirmation": False}
    d.update(extra)
    return d


def post(text, *groups):
    ids = [call("POST", "/connect/action-link-group-definitions",
                dict(g, expirationDate=expires))["id"] for g in groups]
    call("POST", "/chatter/feed-elements", {
        "body": {"messageSegments": [{"type": "Text", "text": text}]}, "subjectId": "me",
        "feedElementType": "FeedItem",
        "capabilities": {"associatedActions": {"actionLinkGroupIds": ids}}})


post("Welcome! Try the Download and View buttons: they open pages of the demo endpoint.",
     {"category": "Primary", "executionsAllowed": "Unlimited", "actionLinks": [
         link("Download", "/file.txt", "Download", "HttpGet", groupDefault=True),
         link("Ui", "/page", "View", "HttpGet")]})
post("An order needs your decision. Approve calls the third party (it answers 200); "
     "Decline calls it too, and it fails on purpose: see the diagnostic.",
     {"category": "Primary", "executionsAllowed": "Once", "actionLinks": [
         link("Api", "/approve?user={!userId}", "Approve", requiresConfirmation=True,
              groupDefault=True, requestBody='{"link":"{!actionLinkId}"}',
              headers=[{"name": "Content-Type", "value": "application/json"}]),
         link("Api", "/reject", "Decline")]},
     {"category": "Overflow", "executionsAllowed": "OncePerUser", "actionLinks": [
         link("Ui", "/page", "Open", "HttpGet")]})
post("An asynchronous job: Accept starts it, the third party calls back two seconds later.",
     {"category": "Primary", "executionsAllowed": "OncePerUser", "actionLinks": [
         link("ApiAsync", "/async", "Accept", groupDefault=True,
              requestBody='{"callbackUrl":"{!callbackUrl}","callbackToken":"{!callbackToken}"}',
              headers=[{"name": "Content-Type", "value": "application/json"}])]})
print("seeded the demo feed")

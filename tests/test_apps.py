"""App catalogue: classification of production hostnames and paths, and catalogue validation."""

import pytest

from agent.apps import Catalogue, CatalogueSpec, default_path
from agent.yamlload import ConfigError, parse_yaml, validate


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue.load(default_path())


# fmt: off
CASES = [
    # host, method, path, query, app, category, kind
    ("content.dropboxapi.com", "POST", "/2/files/upload", "", "dropbox", "file_sharing", "upload"),
    ("content.dropboxapi.com", "POST", "/2/files/upload_session/append_v2", "", "dropbox", "file_sharing", "upload"),
    ("www.dropbox.com", "GET", "/home", "", "dropbox", "file_sharing", None),
    ("www.googleapis.com", "POST", "/upload/drive/v3/files", "uploadType=multipart", "google_drive", "file_sharing", "upload"),
    ("www.googleapis.com", "PUT", "/upload/drive/v3/files", "uploadType=resumable&upload_id=xyz", "google_drive", "file_sharing", "upload"),
    ("www.googleapis.com", "POST", "/upload/youtube/v3/videos", "", "youtube", "social_media", "upload"),
    ("www.googleapis.com", "GET", "/discovery/v1/apis", "", "other", "other", None),
    ("graph.microsoft.com", "PUT", "/v1.0/me/drive/root:/q3.xlsx:/content", "", "onedrive", "file_sharing", "upload"),
    ("sn3302.up.1drv.com", "PUT", "/up/AbC", "", "onedrive", "file_sharing", "upload"),
    ("contoso-my.sharepoint.com", "PUT", "/personal/a/_api/v2.0/drive/items/1/uploadSession", "", "onedrive", "file_sharing", "upload"),
    ("westchestergov-my.sharepoint.com", "PUT", "/personal/a/_api/v2.0/drive/items/1/uploadSession", "", "county_m365", "county", None),
    ("upload.box.com", "POST", "/api/2.0/files/content", "", "box", "file_sharing", "upload"),
    ("acme.app.box.com", "GET", "/folder/0", "", "box", "file_sharing", None),
    ("graph.facebook.com", "POST", "/v19.0/104729/feed", "", "facebook", "social_media", "post"),
    ("graph.facebook.com", "POST", "/v19.0/104729/media", "", "instagram", "social_media", "post"),
    ("api.x.com", "POST", "/2/tweets", "", "x", "social_media", "post"),
    ("upload.twitter.com", "POST", "/1.1/media/upload.json", "command=APPEND", "x", "social_media", "upload"),
    ("api.linkedin.com", "POST", "/rest/posts", "", "linkedin", "social_media", "post"),
    ("oauth.reddit.com", "POST", "/api/submit", "", "reddit", "social_media", "post"),
    ("bsky.social", "POST", "/xrpc/com.atproto.repo.createRecord", "", "bluesky", "social_media", "post"),
    ("pds.example.net", "POST", "/xrpc/com.atproto.repo.uploadBlob", "", "bluesky", "social_media", "upload"),
    ("mastodon.social", "POST", "/api/v1/statuses", "", "mastodon", "social_media", "post"),
    ("toot.example.org", "POST", "/api/v2/media", "", "mastodon", "social_media", "upload"),
    ("pastebin.com", "POST", "/api/api_post.php", "", "pastebin", "paste", "post"),
    ("api.github.com", "POST", "/gists", "", "github_gist", "paste", "post"),
    ("slack.com", "POST", "/api/chat.postMessage", "", "slack", "messaging", "post"),
    ("discord.com", "POST", "/api/v10/channels/123/messages", "", "discord", "messaging", "post"),
    ("mail.google.com", "POST", "/mail/u/0/", "", "gmail", "webmail", None),
    ("outlook.office.com", "GET", "/mail/", "", "outlook_web", "webmail", None),
    # label boundaries: x.com must not claim dropbox.com nor fox.com
    ("fox.com", "GET", "/", "", "other", "other", None),
    ("notdropbox.com", "GET", "/", "", "other", "other", None),
    # any-host endpoints never claim a County host
    ("westchestergov.com", "POST", "/api/v1/statuses", "", "county", "county", None),
    ("WWW.DropBox.COM.", "GET", "/", "", "dropbox", "file_sharing", None),
]
# fmt: on


@pytest.mark.parametrize("host,method,path,query,app,category,kind", CASES)
def test_classify(cat, host, method, path, query, app, category, kind):
    c = cat.classify(host, method, path, query)
    assert (c.app.id, c.app.category, c.kind) == (app, category, kind)


def test_account_extracted_from_page_post(cat):
    assert cat.classify("graph.facebook.com", "POST", "/v19.0/104729/feed").account == "facebook:104729"


def test_body_marker_needed_for_graphql_post(cat):
    path = "/api/graphql/"
    assert cat.classify("www.facebook.com", "POST", path, body_head=b"x=1").kind is None
    assert cat.classify("www.facebook.com", "POST", path,
                        body_head=b"fb_api_req_friendly_name=ComposerStoryCreateMutation").kind == "post"


def test_required_apps_present(cat):
    required = {"facebook", "instagram", "threads", "x", "linkedin", "youtube", "tiktok", "reddit",
                "bluesky", "mastodon", "dropbox", "google_drive", "onedrive", "box", "wetransfer",
                "mega", "icloud", "pastebin", "github_gist", "slack", "discord", "gmail", "outlook_web"}
    assert required <= set(cat.apps)


def test_label_values_are_bounded(cat):
    apps, cats = cat.label_values()
    assert "other" in apps and "other" in cats
    assert len(apps) == len(cat.apps) + 1


@pytest.mark.parametrize("text,line,field,msg", [
    ("categories: {a: x}\napps:\n  - id: Bad-Id\n    name: n\n    category: a\n", 3, "apps[0].id", "pattern"),
    ("categories: {a: x}\napps:\n  - id: ok\n    name: n\n    category: b\n", 5, "apps[0].category", "unknown category 'b'"),
    ("categories: {a: x}\napps:\n  - id: ok\n    name: n\n    category: a\n    colour: red\n", 6, "apps[0].colour", "unknown field"),
    ("categories: {a: x}\napps:\n  - id: ok\n    name: n\n    category: a\n    endpoints:\n"
     "      - {kind: upload, methods: [POST], hosts: [h.com], path: '([a-'}\n", 7, "apps[0].endpoints[0].path", "invalid regex"),
])
def test_catalogue_errors_name_line_and_field(text, line, field, msg):
    doc = parse_yaml(text, "apps.yaml")
    with pytest.raises(ConfigError) as ei:
        validate(doc, CatalogueSpec)
    issue = ei.value.issues[0]
    assert issue.file == "apps.yaml" and issue.field == field and msg in issue.message
    assert issue.line is not None and abs(issue.line - line) <= 1

"""A real oEmbed consumer, as a CMS does it: fetches the page at argv[1],
discovers its oEmbed endpoint from `<link rel="alternate"
type="application/json+oembed">`, then asks for the embed with the
`micawber` consumer library (a provider registered for this server's
widget URLs at the discovered endpoint) and renders it into text the way
micawber's parser does. Prints JSON: the discovered link, the URL it names,
the provider's answer and the text with the embed in place."""

import json
import re
import sys
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import micawber


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "alternate" and a.get("type") == "application/json+oembed":
            self.found.append(a["href"])


page = sys.argv[1]
maxwidth = int(sys.argv[2]) if len(sys.argv) > 2 else None
parser = Links()
parser.feed(urllib.request.urlopen(page).read().decode("utf-8"))
assert len(parser.found) == 1, parser.found
href = parser.found[0]
parts = urllib.parse.urlsplit(href)
endpoint = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
target = urllib.parse.parse_qs(parts.query)["url"][0]
origin = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
registry = micawber.ProviderRegistry()
registry.register(re.escape(origin) + r"/embed\S*", micawber.Provider(endpoint))
params = {"maxwidth": maxwidth} if maxwidth else {}
answer = registry.request(target, **params)
rendered = registry.parse_text(target, **params)
print(json.dumps({"discovered": href, "url": target, "answer": answer, "rendered": rendered}))

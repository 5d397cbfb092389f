"""Publisher boilerplate removed from article text before it is summarised.

Three kinds of clutter sit around the story in feed items and extracted pages:
promo lines ("Join ST's Telegram channel ...", "Sign up for our newsletter",
"Read more: ...", "Scroll down for video"), photo captions and credits
("... PHOTO: REUTERS", "(Photo by X/Getty Images)", "Image copyright ..."),
bylines and agency credits ("By Jane Doe", "Reporting by ...; Editing by ..."),
and leading datelines ("SEOUL (REUTERS) -", "LONDON, Oct 29 (Reuters) -").

Conservative by design: a whole line is dropped only when the entire line is
boilerplate (and short enough to be a caption or promo, not a paragraph of the
story); inside a longer line only the boilerplate sentence or fragment goes.
"""

from __future__ import annotations

import re

from bot.summary.sentences import split_sentences

# A caption or promo is short; a longer line is a story paragraph that may merely
# contain a credit, and only the credit itself is removed from it.
_MAX_CAPTION_CHARS = 400

_AGENCY = (
    r"(?:REUTERS|Reuters|AP|AFP|CNN|Bloomberg|BLOOMBERG|AP Photo|dpa|DPA|Xinhua|XINHUA|UPI|ANI|"
    r"PTI|IANS|EFE|Kyodo|KYODO|Yonhap|YONHAP|NYTIMES|NYT|WASHINGTON POST|THE NEW YORK TIMES|"
    r"BERNAMA|Bernama|ANTARA|AAP|CNA|NHK|TASS|Interfax|INTERFAX|RTTNews|Sputnik|Anadolu|ST|"
    r"The Straits Times|THE STRAITS TIMES|[A-Z][A-Za-z]+ News)"
)
_DASH = r"(?:-{1,2}|[—–]|:)"
_PLACE = r"[A-Z][A-Z.'’\-]+(?:[ /][A-Z][A-Z.'’\-]+){0,3}"
_DATE = r"(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?)"
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|bin|al|da|der|la|le)){0,3}"
_CAPWORDS = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|of|for|the|in|at|and|on)){0,6}"
_SOCIAL = (
    r"(?:Twitter|X|Facebook|Instagram|LinkedIn|TikTok|YouTube|Telegram|WhatsApp|Threads|Bluesky)"
)

# Leading datelines at the start of a paragraph.
_DATELINES = (
    # "SEOUL (REUTERS) -", "LONDON, Oct 29 (Reuters) -", "NEW YORK, N.Y. (AP) —",
    # "SEOUL, South Korea (AP) —"
    re.compile(
        rf"^{_PLACE}(?:,\s*[A-Z][\w.'’]*(?:\s+[A-Z][\w.'’]*){{0,2}})?(?:,\s*{_DATE})?"
        rf"\s*\({_AGENCY}(?:/[A-Za-z ]+)?\)\s*{_DASH}\s*"
    ),
    # "(CNN)They may ...", "(Reuters) - ..."
    re.compile(rf"^\({_AGENCY}\)\s*(?:{_DASH}\s*)?"),
    # "CAIRO — ...", "SINGAPORE - The ...": a capitalised place and a spaced dash.
    re.compile(
        rf"^[A-Z]{{3}}[A-Z.'’\-]*(?:[ /][A-Z][A-Z.'’\-]+){{0,3}}"
        rf"(?:,\s*[A-Z][\w.'’]*(?:\s+[A-Z][\w.'’]*){{0,3}})?(?:,\s*{_DATE})?"
        rf"\s+(?:—|–|--|-)\s+(?=[A-Z\"“‘'])"
    ),
)

# Whole lines that are boilerplate when they are short.
_LINE_PATTERNS = re.compile(
    "|".join(
        (
            # Photo captions ending with a credit: "... PHOTO: REUTERS", "ST PHOTO: LIM YAOHUI"
            r".*\b(?:PHOTO|PHOTOS|PICTURE|PICTURES|IMAGE|IMAGES|VIDEO|GRAPHIC)S?\s*:\s*[A-Z][^a-z]{0,80}$",
            r".*\b(?:Photo|Photograph|Picture|Image|Credit|Photo credit)s?\s*:"
            r"\s*[\w .,&'’/-]{1,60}$",
            r".*\((?:AP |AFP |Reuters |EPA )?(?:Photo|Photos|Picture|Image)s?\b[^)]*\)\s*\.?$",
            r".*\b(?:Getty Images|AFP via Getty Images|Shutterstock|iStock(?:photo)?|"
            r"AP Photo(?:/[\w .'-]+)?|Reuters/[\w .'-]+|EPA(?:-EFE)?(?:/[\w .'-]+)?)\s*\)?\.?$",
            r"(?:Image|Media|Photo) (?:copyright|caption|source)\b.*",
            r"(?:Getty Images|Reuters|AFP|AP|EPA|Shutterstock)\.?",
            r"(?:File )?(?:photo|Photo|PHOTO)\b[^.]{0,60}",
            # Bylines and agency credits
            # "By Jane Doe", "By Jane Doe and John Roe, Reuters", "By . Daily Mail Reporter ."
            rf"By\s+(?:\.\s*)?{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*"
            rf"(?:\s*[,|-]\s*{_CAPWORDS})?\s*\.?",
            r"\(?(?:Additional )?(?:[Rr]eporting|[Ww]riting|[Ee]diting|[Cc]ompiled|[Rr]esearch)"
            r" by\b.*",
            r"(?:PUBLISHED|UPDATED|Published|Updated|Last updated|Posted)(?:\s*:|\s+(?:on |at )?"
            r"(?=\d|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)))"
            r"[\w :,|.+-]{0,60}",
            # Promos, prompts and sharing widgets
            r"Join\b.{0,60}\b(?:Telegram|WhatsApp|channel|newsletter|community)\b.*",
            # "Sign up for our newsletter", not "Sign up for a Hulu account for $11.99"
            r"(?:Sign up|Subscribe)\b.{0,40}\b(?:newsletters?|updates|alerts|our|us|here|today|"
            r"inbox|briefing|digest)\b.{0,60}",
            r"(?:READ MORE|Read more|Read More|ALSO READ|Also read|SEE ALSO|See also)\b.{0,150}",
            r"(?:RELATED|Related|WATCH|Watch|MORE|More|LISTEN|Listen)\s*:.{0,150}",
            r"Follow us\b.{0,100}",
            rf"(?:Follow|Like)\s+(?:us|him|her|them|the author|{_NAME})\s+on\s+{_SOCIAL}"
            r"\b.{0,100}",
            r"(?:Download|Get)\s+(?:our|the)\b.{0,30}\bapp\b.{0,80}",
            r"(?:Click here|Tap here|Scroll down)\b.{0,120}",
            r"(?:Share|Share this|Share this article|Advertisement|ADVERTISEMENT|Comments?)\s*:?",
            r"(?:©|\(c\)|Copyright\s*(?:©|\(c\)|\d{4})).{0,120}",
            # WordPress and feed-reader tails
            r"The post .{1,200} appeared first on .{1,100}",
            r"(?:Continue reading|Keep reading|Read (?:the )?full (?:story|article|topic|post))\b"
            r".{0,120}",
            # Discourse and forum feed tails: "74 posts - 43 participants"
            r"\d+ (?:posts?|replies|repl(?:y|ies)) [-–—] \d+ participants?",
            r"\[?(?:…|\.\.\.)\]?",
            r".{0,80}\bAll rights reserved\b.{0,40}",
            # The credit line of an embedded tweet: "— Jane Doe (@jdoe) November 18, 2019"
            r".*[—–-]\s*[^()]{1,60}\(@\w{1,30}\)\s*[A-Z][a-z]+\.? \d{1,2}, \d{4}",
            r"(?:pic\.twitter\.com/\S+|https?://\S+)(?:\s+(?:pic\.twitter\.com/\S+|https?://\S+))*",
        )
    )
)

# Sentences (inside a longer line) that are promos whatever their surroundings.
_SENTENCE_PATTERNS = re.compile(
    "|".join(
        (
            r"Join\b.{0,60}\b(?:Telegram|WhatsApp|channel|newsletter)\b.*",
            r"(?:Sign up|Subscribe)\b.{0,40}\b(?:newsletters?|updates|alerts|our)\b.*",
            r"(?:READ MORE|Read more|Read More)\s*:.*",
            r"(?:Follow|Like)\s+us\s+on\b.*",
            r"(?:Download|Get)\s+(?:our|the)\b.{0,30}\bapp\b.*",
            r"(?:Click here|Tap here)\b.*",
            r"The post .{1,200} appeared first on .*",
            r"(?:Continue reading|Read the full (?:story|article))\b.*",
        )
    )
)
_PROMO_HINT = re.compile(
    r"Join\b|Sign up|Subscribe|Read more|READ MORE|Follow us|Like us|Download|Get our|"
    r"Click here|Tap here|Scroll down|The post|Continue reading|Read the full"
)
# Fragments removed wherever they occur.
_FRAGMENTS = (
    # "Join ST's Telegram channel and get the latest breaking news delivered to you.",
    # wherever it sits: specific enough never to be story text.
    re.compile(
        r"\s*\bJoin\b[^.!?\n]{0,60}\b(?:Telegram|WhatsApp)\b[^.!?\n]{0,40}\b(?:channel|group)\b"
        r"[^.!?\n]{0,120}(?:[.!?]|$)"
    ),
    # DailyMail's "Scroll down for video" sits between two real sentences.
    re.compile(r"\s*\b(?:SCROLL DOWN FOR VIDEOS?|Scroll down for (?:video|videos))\b\s*"),
    # Reuters' trailing "(Reporting by ...; Editing by ...)".
    re.compile(
        r"\s*\((?:Additional )?(?:[Rr]eporting|[Ww]riting|[Ee]diting|[Cc]ompiled) by\b"
        r"[^()]{0,300}\)"
    ),
    # An inline credit in parentheses: "(Photo by X/Getty Images)", "(AP Photo/X)".
    re.compile(
        r"\s*\((?:AP |AFP |Reuters |EPA )?(?:Photo|Photos|Picture|Image)s?\s+(?:by|:|/)"
        r"[^()]{0,120}\)"
    ),
)
_CAPTION_END = re.compile(r"\s*\b(?:ST )?PHOTOS?\s*:\s*[A-Z][^a-z]{0,80}$")


def strip_boilerplate(text: str) -> str:
    """``text`` without publisher boilerplate: promo lines, photo captions and
    credits, bylines, and datelines at the start of paragraphs.

    Paragraph structure (blank-line separated blocks, single line breaks within
    a block) is kept; paragraphs left empty disappear.  Real story sentences
    are kept: whole lines go only when all of the line is boilerplate.
    """
    if not text:
        return ""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [cleaned for line in block.split("\n") if (cleaned := _clean_line(line))]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _clean_line(line: str) -> str:
    line = line.strip()
    if not line:
        return ""
    if len(line) <= _MAX_CAPTION_CHARS and _LINE_PATTERNS.fullmatch(line):
        return ""
    for fragment in _FRAGMENTS:
        line = fragment.sub(" ", line).strip()
    for dateline in _DATELINES:
        stripped = dateline.sub("", line, count=1)
        if stripped != line:
            line = stripped.strip()
            break
    if _PROMO_HINT.search(line):
        kept = [s for s in split_sentences(line) if not _SENTENCE_PATTERNS.fullmatch(s)]
        line = " ".join(kept)
    elif len(line) > _MAX_CAPTION_CHARS:
        # A credit glued to the end of a long line (a caption merged into the text).
        line = _CAPTION_END.sub("", line)
    if line and len(line) <= _MAX_CAPTION_CHARS and _LINE_PATTERNS.fullmatch(line):
        return ""
    return line

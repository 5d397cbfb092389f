"""Publisher boilerplate goes; the story stays."""

from __future__ import annotations

import pytest

from bot.summary.boilerplate import strip_boilerplate


@pytest.mark.parametrize(
    "line",
    [
        "Join ST's Telegram channel and get the latest breaking news delivered to you.",
        "Sign up for our newsletter",
        "Subscribe to our daily briefing",
        "Read more: Trump says second Kim summit likely",
        "READ MORE: Seoul and Washington at odds over sanctions",
        "Follow us on Twitter",
        "Follow Jane Doe on Twitter",
        "Download our app",
        "Scroll down for video",
        "Advertisement",
        "Mr Biegun and Mr Lee during a meeting in Seoul, on Oct 29, 2018. PHOTO: REUTERS",
        "The skyline at dusk. ST PHOTO: LIM YAOHUI",
        "Protesters march in Seoul. (Photo by Jung Yeon-je/AFP via Getty Images)",
        "Image copyright Getty Images",
        "Image caption The envoy arrives in Seoul",
        "Getty Images",
        "By Jane Doe",
        "By Jane Doe and John Roe, Reuters",
        "Reporting by Josh Smith; Editing by Jane Doe",
        "(Reporting by Hyonhee Shin; Additional reporting by David Brunnstrom)",
        "Updated: Oct 29, 2018 10:30 am",
        "Copyright 2018 Reuters. All rights reserved.",
        "The post Kim meets Trump appeared first on Example News.",
        "Big news from Seoul today — Jane Doe (@janedoe) October 29, 2018",
        "https://t.co/hFciHO5Qc7 pic.twitter.com/KQLpngeTbO",
        "74 posts - 43 participants",
        "Read full topic",
    ],
)
def test_boilerplate_lines_are_removed(line):
    story = "The envoy arrived in Seoul on Monday for talks."
    assert strip_boilerplate(f"{story}\n\n{line}") == story
    assert strip_boilerplate(f"{line}\n\n{story}") == story


@pytest.mark.parametrize(
    ("dateline", "rest"),
    [
        ("SEOUL (REUTERS) - ", "The envoy arrived."),
        ("WASHINGTON (AP) — ", "The envoy arrived."),
        ("LONDON, Oct 29 (Reuters) - ", "The envoy arrived."),
        ("NEW YORK, N.Y. (AP) — ", "The envoy arrived."),
        ("SEOUL, South Korea (AP) — ", "The envoy arrived."),
        ("(CNN)", "They may not be little green men."),
        ("CAIRO — ", "The envoy arrived."),
        ("SINGAPORE - ", "The envoy arrived."),
        ("DUBAI, United Arab Emirates — ", "The envoy arrived."),
    ],
)
def test_datelines_are_removed_from_the_start_of_paragraphs(dateline, rest):
    assert (
        strip_boilerplate(f"First paragraph.\n\n{dateline}{rest}") == f"First paragraph.\n\n{rest}"
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "By Friday, the talks had collapsed.",
        "By Monday, Mr Kim had left Pyongyang.",
        "Like her mother, she became a diplomat.",
        "Updated figures show growth of 3 per cent.",
        "Photos of the summit were shared widely online.",
        "US - China talks stalled on Monday.",
        "Follow-up talks are planned for November.",
        "Reuters reported the meeting first.",
        "Subscribers to the service rose by 10 per cent.",
        "He told Reuters the sanctions would stay.",
        "Sign-ups for the programme doubled, the ministry said.",
        "Sign up for a Hulu ad-free account for $11.99 a month",
        "Sign up for the Disney+ bundle using the same email as your Hulu account",
    ],
)
def test_real_story_sentences_are_kept(sentence):
    assert strip_boilerplate(sentence) == sentence


def test_promo_sentence_glued_to_a_story_line_goes_and_the_story_stays():
    text = (
        "The talks continued into the evening. "
        "Join ST's Telegram channel and get the latest breaking news delivered to you."
    )
    assert strip_boilerplate(text) == "The talks continued into the evening."


def test_inline_credits_and_video_prompts_are_cut_out_of_long_lines():
    text = (
        "The economy grew faster than expected. Scroll down for video The central bank said rates "
        "would rise. (Reporting by Josh Smith; Editing by Jane Doe)"
    )
    assert strip_boilerplate(text) == (
        "The economy grew faster than expected. The central bank said rates would rise."
    )


def test_paragraphs_are_kept_and_empty_ones_disappear():
    text = "Para one.\n\nPHOTO: REUTERS\n\nPara two.\nSame para, new line.\n\n\n\nBy Jane Doe"
    assert strip_boilerplate(text) == "Para one.\n\nPara two.\nSame para, new line."


def test_long_story_paragraph_is_not_dropped_for_a_credit_word():
    paragraph = "The envoy said talks would go on. " * 20 + "Image: Reuters"
    assert strip_boilerplate(paragraph).startswith("The envoy said talks would go on.")


def test_empty_text_stays_empty():
    assert strip_boilerplate("") == ""

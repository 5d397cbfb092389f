"""Stage 3, summary: a matched article's text, short and clean.

- ``boilerplate``: publisher boilerplate removed before summarising
- ``sentences``: sentence splitting for news text
- ``extractive``: extractive summaries sized for a phone screen
- ``llm``: optional abstractive summaries from an OpenAI-compatible server
"""

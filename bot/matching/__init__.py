"""Stage 2, matching: who wants an article.

- ``normalize``: folding and tokenising shared by the parser and the engine
- ``aliases``: named alias groups (``@north-korea``)
- ``document``: the article as the matcher reads it
- ``syntax`` and ``parser``: the filter language's syntax tree and its parser
- ``topics``: built-in and configured topics
- ``rules``: how one subscription is matched (the only copy of that rule)
- ``engine``: every active query in one index, one pass per article
- ``vectors``: the article vector (multilingual USE), stored with each article
- ``passages``: a sharper, dearer vector (multilingual e5) for telling near texts apart
- ``audience``: the active subscriptions compiled into one matcher
"""

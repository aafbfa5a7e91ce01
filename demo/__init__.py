"""Our own stand-ins for the sites kmb crawls, served on 127.0.0.1, so every stage can be tried
and tested offline: ``replay_server`` (a NAVER-like news site, pages in ``replay_site/``, written
by us) and ``oai_server`` (an OAI-PMH responder over our sample journal records).

Used by ``kmb quickstart``, ``kmb crawl replay-server`` and the tests; no stage imports it.
"""

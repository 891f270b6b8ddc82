"""The web catalog: server-rendered pages over the catalog page service, served by ``dativo serve`` at
``/`` (:mod:`.app`) and written as a static site by ``dativo catalog build`` (:mod:`.site`)."""

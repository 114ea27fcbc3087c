"""Everything that talks to OCR providers, by job: ``core`` (the shared kernel), ``providers`` (one
module per provider and the registry), ``collection`` (the collector), ``emulators`` (loopback
stand-ins for the web services) and ``serving`` (``bench serve``)."""

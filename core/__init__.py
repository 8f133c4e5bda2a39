"""Shared plumbing between the models and everything that serves people: configuration, the process's
connections (database, Redis, queues), the WeChat API client, staff actions on tickets, signed links and
the remembered profile. The dialogs and the jobs both stand on it; it knows neither."""

"""Collect: Scrapy spiders that yield documents; item pipelines hand them to the storage writer."""

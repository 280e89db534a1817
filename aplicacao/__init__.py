"""A aplicação local sobre as etapas: a CLI ``detector-pix``, a demo e os benchmarks.

A camada de cima: importa de todas as outras (plataforma, monitoramento, ingestão, processamento, simulador,
machine_learning) e nenhuma delas importa daqui. Os notebooks do Databricks não passam por esta camada.
"""

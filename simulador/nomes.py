"""Listas pequenas de nomes brasileiros para compor titulares plausíveis sem depender do Faker.

Por que embutidas: a população inteira é montada por sorteio vetorizado de índices nestas listas,
o que é ordens de grandeza mais rápido que chamar um gerador de nomes por cliente.
"""

from __future__ import annotations

PRENOMES = (
    "Maria", "José", "Ana", "João", "Antônio", "Francisca", "Carlos", "Paulo", "Adriana", "Lucas",
    "Juliana", "Pedro", "Márcia", "Marcos", "Fernanda", "Luiz", "Patrícia", "Gabriel", "Aline", "Rafael",
    "Sandra", "Daniel", "Camila", "Marcelo", "Amanda", "Bruno", "Bruna", "Eduardo", "Jéssica", "Felipe",
    "Letícia", "Raimundo", "Júlia", "Rodrigo", "Luciana", "Manoel", "Vanessa", "Mateus", "Mariana", "André",
    "Gabriela", "Fernando", "Vera", "Fábio", "Beatriz", "Leonardo", "Larissa", "Gustavo", "Cláudia", "Guilherme",
    "Débora", "Leandro", "Rosana", "Tiago", "Sebastiana", "Anderson", "Helena", "Ricardo", "Isabela", "Vinícius",
    "Tatiane", "Diego", "Kátia", "Matheus", "Simone", "Roberto", "Eliane", "Francisco", "Cristiane", "Alexandre",
    "Laura", "Raquel", "Sérgio", "Rita", "Thiago", "Valéria", "Renato", "Priscila", "Igor", "Sofia",
    "Davi", "Alice", "Heitor", "Valentina", "Arthur", "Lorena", "Enzo", "Cecília", "Miguel", "Manuela",
)  # fmt: skip

SOBRENOMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Pinto", "Correia", "Cavalcanti", "Monteiro",
    "Moura", "Batista", "Campos", "Rezende", "Barros", "Borges", "Pires", "Castro", "Azevedo", "Farias",
    "Brito", "Medeiros", "Sales", "Xavier", "Miranda", "Queiroz", "Siqueira", "Tavares", "Bezerra", "Duarte",
)  # fmt: skip

RAMOS = (
    "Mercearia", "Padaria", "Farmácia", "Restaurante", "Lanchonete", "Auto Peças", "Materiais de Construção",
    "Papelaria", "Pet Shop", "Hortifruti", "Açougue", "Salão de Beleza", "Oficina Mecânica", "Distribuidora",
    "Comércio de Roupas", "Consultoria", "Transportes", "Informática", "Academia", "Clínica", "Sorveteria",
    "Ótica", "Chaveiro", "Floricultura", "Serviços Elétricos", "Contabilidade", "Bar e Petiscaria", "Doceria",
)  # fmt: skip

SUFIXOS_PJ = ("Ltda", "ME", "EIRELI", "S.A.", "Ltda", "ME")

DOMINIOS_EMAIL = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br", "bol.com.br", "icloud.com")

INFO_PAGADOR = (
    "aluguel", "almoço", "racha do churrasco", "presente", "conta de luz", "mensalidade", "obrigado!",
    "pizza de ontem", "uber", "feira", "dízimo", "empréstimo", "parcela 2/5", "mercado", "academia",
    "passagem", "manicure", "diarista", "vaquinha", "ingresso do show",
)  # fmt: skip

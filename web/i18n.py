"""Interface messages: Spanish (es-MX) is the source language, English the translation.

Templates and handlers call ``t("key", **values)``: the Spanish source text of each key
lives in :data:`SOURCE` (``%(name)s`` placeholders), and its English translation in the
gettext catalog ``web/translations/en/LC_MESSAGES/messages.po`` (``msgctxt`` is the
key, ``msgid`` the Spanish text). Flask-Babel picks the language per request: ``?lang=``
(remembered in the session), else the browser's ``Accept-Language``, else Spanish. The
catalogs are compiled by the build (``make install``) and, where a compiled catalog is
missing or older than its source, when the app starts.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
TRANSLATIONS = Path(__file__).with_name("translations")
DOMAIN = "messages"

SOURCE: dict[str, str] = {
    "app_title": "CompStat CDMX",
    "app_subtitle": "Policía sectorial de la Ciudad de México",
    "overview_title": "Resumen de datos cargados",
    "other_language": "English",
    "territory_heading": "Territorio",
    "territory_intro": "Versiones del territorio cargadas y unidades por nivel.",
    "validation_heading": "Validación del territorio",
    "incidents_heading": "Incidentes por fuente",
    "runs_heading": "Cargas recientes",
    "map_heading": "Incidentes por sector, %(year)s (versión %(vintage)s)",
    "map_heading_empty": "Sectores (versión %(vintage)s)",
    "map_caption": "Incidentes por sector en %(year)s",
    "map_partial": "Año incompleto: los datos cargados no cubren todo %(year)s.",
    "map_no_counts": "Esta versión aún no tiene incidentes asignados.",
    "map_note": "Geometría simplificada; sin mapa de fondo (todo se sirve desde este servidor).",
    "map_libraries_missing": (
        "El mapa no puede dibujarse: faltan en el servidor los paquetes %(packages)s "
        "(make install los instala)."
    ),
    "sector_table": "Tabla de incidentes por sector",
    "choose_vintage": "Versión",
    "show": "Mostrar",
    "nothing_loaded": "No hay datos cargados.",
    "nothing_loaded_hint": "Cargue el territorio con «compstat territory load».",
    "none": "ninguno",
    "error_title": "Error",
    "error_400": "Solicitud no válida",
    "error_404": "No encontrado",
    "error_405": "Método no permitido",
    "error_422": "Archivo no legible",
    "error_500": "Error interno",
    "error_503": "Base de datos no disponible",
    "back": "Volver al resumen",
    "vintage": "Versión",
    "zones": "Zonas",
    "regions": "Regiones",
    "sectors": "Sectores",
    "quadrants": "Cuadrantes",
    "source_file": "Archivo",
    "source_crs": "SRC de origen",
    "loaded_at": "Cargada",
    "area_km2": "Área (km²)",
    "gaps": "Huecos",
    "gap_km2": "Huecos (km²)",
    "overlapping_pairs": "Pares traslapados",
    "overlap_km2": "Traslape (km²)",
    "repaired_polygons": "Polígonos reparados",
    "id_sector_mismatches": "Clave y sector discordantes",
    "lowercase_zone_codes": "Claves de zona en minúsculas",
    "sector_names_normalised": "Nombres de sector normalizados",
    "crosswalk_pairs": "Pares de equivalencia",
    "source": "Fuente",
    "name": "Nombre",
    "incidents": "Incidentes",
    "first": "Desde",
    "last": "Hasta",
    "quarantined": "Cuarentena",
    "id": "Núm.",
    "kind": "Tipo",
    "file_name": "Archivo",
    "started_at": "Inicio",
    "finished_at": "Fin",
    "n_read": "Leídos",
    "n_loaded": "Cargados",
    "n_duplicate": "Duplicados",
    "n_quarantined": "Cuarentena",
    "code": "Clave",
    "count": "Incidentes",
    "kind_incidents": "incidentes",
    "kind_territory": "territorio",
    # access, audit and API (web/access.py, web/views/auth.py, web/views/admin.py, web/api)
    "login_title": "Iniciar sesión",
    "login_failed": "Usuario o contraseña incorrectos, o cuenta desactivada.",
    "user_name": "Usuario",
    "password": "Contraseña",
    "log_in": "Entrar",
    "log_out": "Salir",
    "role_admin": "administración",
    "role_commander": "mando",
    "role_planner": "planeación",
    "role_researcher": "investigación",
    "error_401": "Se requiere iniciar sesión",
    "error_403": "Acceso denegado",
    "error_429": "Demasiados intentos",
    "audit_title": "Bitácora de auditoría",
    "since": "Desde",
    "at": "Fecha y hora",
    "action": "Acción",
    "target": "Objeto",
    "parameters": "Parámetros",
    "row_count": "Filas",
    "address": "Dirección IP",
    "api_docs_title": "API v1: documentación",
    "api_docs_intro": "Envíe «Authorization: Bearer TOKEN» (cree uno con "
    "«compstat users token NOMBRE») o use esta sesión.",
    "api_parameters": "Parámetros",
    "api_roles": "Roles",
    "required": "obligatorio",
    "nav_overview": "Resumen",
    "nav_weekly": "CompStat semanal",
    "nav_trends": "Tendencias",
    "weekly_title": "CompStat semanal",
    "weekly_of": "%(levels)s de %(parent)s",
    "weekly_intro": (
        "Tabla de rendición de cuentas de la reunión semanal: semana, últimos 28 días y "
        "año a la fecha, cada uno contra el mismo periodo del año anterior."
    ),
    "level": "Nivel",
    "level_zone": "Zona",
    "level_region": "Región",
    "level_sector": "Sector",
    "level_quadrant": "Cuadrante",
    "group": "Grupo",
    "basis": "Base",
    "basis_recorded": "registrada",
    "basis_spatial": "espacial",
    "basis_source": "oficial de la fuente",
    "as_of": "Corte",
    "as_of_hint": "último día de los periodos (domingo)",
    "territory_vintage": "Territorio %(vintage)s",
    "city": "Ciudad de México",
    "window_week": "Semana (lunes a domingo)",
    "window_28d": "Últimos 28 días",
    "window_ytd": "Año a la fecha",
    "window_week_short": "Semana",
    "window_28d_short": "28 días",
    "window_ytd_short": "Año a la fecha",
    "same_period_last_year": "Mismo periodo del año anterior",
    "pct_change": "Cambio %%",
    "vs_year": "vs %(year)s",
    "rate": "Tasa 100 mil",
    "rate_note": (
        "Tasa: incidentes del año a la fecha por 100 mil habitantes "
        "(población del Censo %(census)s)."
    ),
    "rank": "Lugar",
    "rank_note": (
        "Lugar: posición entre %(n)s unidades en el año a la fecha (1 = más incidentes)."
    ),
    "unit": "Unidad",
    "commander": "Mando",
    "no_commander": "sin mando",
    "fictitious": "(ficticio)",
    "roster_fictitious_note": "Demostración: los nombres de los mandos son ficticios.",
    "no_data": "sin datos",
    "undefined_note": (
        "n/d: cambio no definido porque el periodo de comparación no tuvo incidentes."
    ),
    "no_data_note": (
        "sin datos: no hay datos cargados para ese periodo; no se muestra una caída falsa."
    ),
    "flag_legend": (
        "▲ aumento y ▼ disminución mayores que el azar (prueba de Poisson, |z| ≥ 2); en "
        "negritas, |z| ≥ 3. Los cambios sin marca pueden ser ruido."
    ),
    "significant_change": "Cambio significativo",
    "total": "Total",
    "total_of": "Total de %(name)s",
    "outside_row": "Sin cuadrante / fuera",
    "zone_section": "Zona %(name)s",
    "print": "Imprimir",
    "downloads": "Descargas",
    "periods_heading": "Periodos",
    "window_dates": "%(window)s: %(current)s vs %(year_ago)s",
    "window_dates_two": "%(window)s: %(current)s vs %(year_ago)s y %(two_years_ago)s",
    "sources_heading": "Fuentes",
    "source_span": "%(name)s: datos cargados del %(first)s al %(last)s",
    "notes_heading": "Cobertura",
    "period_current": "el periodo actual",
    "period_year_ago": "el año anterior",
    "period_two_years_ago": "hace dos años",
    "note_no_data": "%(window)s, %(period)s (%(dates)s): sin datos cargados para este periodo.",
    "note_partial_data": (
        "%(window)s, %(period)s (%(dates)s): datos cargados solo para parte del periodo."
    ),
    "note_cross_source": (
        "%(window)s, %(period)s (%(dates)s): la comparación usa otra fuente (%(detail)s); no es "
        "del todo comparable."
    ),
    "note_out_of_scope": (
        "%(window)s, %(period)s (%(dates)s): la fuente de ese periodo solo registra delitos de "
        "alto impacto; el grupo incluye otros."
    ),
    "months_short": "ene,feb,mar,abr,may,jun,jul,ago,sep,oct,nov,dic",
    "no_units_chosen": "Elija una o más unidades y pulse «Mostrar».",
    "weekly_range": "Últimas 104 semanas hasta el corte.",
    "monthly_range": "Todos los meses completos con datos cargados.",
    "gaps_note": "Los huecos de las líneas son periodos sin datos cargados.",
    "json_data": "Datos (JSON)",
    "trend": "Tendencia",
    "trend_of": "Tendencia de %(unit)s",
    "trend_link_title": "Ver la tendencia de %(unit)s",
    "drill_title": "Ver %(levels)s de %(unit)s",
    "weekly_series": "Serie semanal",
    "monthly_series": "Serie mensual",
    "current_line": "Actual",
    "year_ago_line": "Año anterior",
    "timeofday_title": "Día de la semana y hora del día",
    "timeofday_window": "Periodo",
    "without_time": "%(n)s incidentes sin hora registrada no se muestran.",
    "chart_loading": "Cargando gráfica…",
    "chart_error": "No se pudo cargar la gráfica.",
    "weekdays_short": "lun,mar,mié,jue,vie,sáb,dom",
    "explorer_title": "Explorador de tendencias",
    "explorer_intro": (
        "Series semanales o mensuales de una o varias unidades, con la línea del año anterior."
    ),
    "units": "Unidades",
    "period": "Periodo",
    "period_week": "semanal",
    "period_month": "mensual",
    "from_date": "Desde",
    "to_date": "Hasta",
    "back_to_weekly": "Volver a la tabla semanal",
    "chart_data": "Datos de la gráfica",
    "nav_map": "Mapa",
    "map_title": "Mapa delictivo",
    "map_window": "Ventana",
    "window_custom": "Rango de fechas",
    "map_measure": "Medida",
    "measure_count": "Incidentes",
    "measure_rate": "Tasa por 100 mil habitantes",
    "measure_density": "Incidentes por km²",
    "measure_change_previous": "Cambio contra el periodo anterior (%%)",
    "measure_change_year_ago": "Cambio contra el año anterior (%%)",
    "measure_emerging": "Puntos calientes emergentes (12 semanas)",
    "map_legend_emerging": (
        "Gi* de cada semana de %(dates)s y su tendencia (Mann-Kendall), por categoría de Esri"
    ),
    "map_layers": "Capas",
    "layer_gi": "Puntos calientes y fríos (Gi*)",
    "layer_kde": "Superficie de densidad",
    "layer_points": "Incidentes (puntos)",
    "layer_places": "Lugares de denuncia",
    "map_loading": "Cargando mapa…",
    "map_error": "No se pudo cargar el mapa.",
    "map_period": "%(window)s: %(dates)s",
    "map_compared": "Comparado con %(previous)s (periodo anterior) y %(year_ago)s (año anterior).",
    "map_previous": "Periodo anterior",
    "map_year_ago": "Año anterior",
    "map_density": "Incidentes por km²",
    "map_population": "Población",
    "map_gi": "Gi* (z)",
    "map_emerging": "Patrón de 12 semanas",
    "gi_hot_99": "Punto caliente, 99 %% de confianza",
    "gi_hot_95": "Punto caliente, 95 %%",
    "gi_hot_90": "Punto caliente, 90 %%",
    "gi_cold_99": "Punto frío, 99 %% de confianza",
    "gi_cold_95": "Punto frío, 95 %%",
    "gi_cold_90": "Punto frío, 90 %%",
    "gi_none": "No significativo",
    "gi_legend": "Gi* sobre incidentes por km², 999 permutaciones, corrección FDR",
    "flag_increase": "aumento significativo",
    "flag_strong_increase": "aumento muy significativo",
    "flag_decrease": "disminución significativa",
    "flag_strong_decrease": "disminución muy significativa",
    "map_trend_link": "Ver tendencia",
    "map_legend_quantiles": "Quintiles de las unidades con incidentes",
    "map_legend_zero": "Ninguno",
    "map_legend_nodata": "Sin datos o n/d",
    "map_legend_change": "Borde grueso: cambio significativo (prueba de Poisson)",
    "map_kde_legend": "Densidad (radio de 250 m), incidentes por km²",
    "map_kde_points": "%(n)s incidentes con ubicación",
    "map_points_legend": "Puntos: %(n)s incidentes con ubicación (agrupados)",
    "map_points_too_many": (
        "Puntos: %(n)s incidentes, demasiados para dibujarlos; elija un periodo más corto "
        "o un grupo más estrecho."
    ),
    "map_places_legend": "Lugares de denuncia, %(dates)s",
    "map_places_note": (
        "Celdas de 100 m donde se presentan denuncias o se detiene a quien se acusa "
        "(fiscalías, juzgados, tiendas): no son lugares donde una patrulla ayude."
    ),
    "map_places_title": "Lugar de denuncia, no de patrullaje",
    "map_places_what": (
        "Aquí se presentan o se reciben denuncias de delitos ocurridos en otros lugares, o se "
        "detiene a quien roba en la tienda: enviar una patrulla no ayuda."
    ),
    "map_places_count": "Denuncias en 12 meses",
    "map_places_types": "Tipos de delito",
    "map_places_desk": "Fraude, documentos o robo en tienda",
    "map_places_top": "Más frecuentes",
    "map_places_quadrant": "Cuadrante",
    "map_methods_link": "¿Qué método predice mejor?",
    "map_note_no_data": "%(period)s (%(dates)s): sin datos cargados.",
    "map_note_partial_data": "%(period)s (%(dates)s): datos cargados solo para parte del periodo.",
    "map_note_out_of_scope": (
        "%(period)s (%(dates)s): la fuente de ese periodo registra solo delitos de alto impacto."
    ),
    "map_note_cross_source": "%(period)s (%(dates)s): se compara con otra fuente.",
    "map_hint": (
        "Haga clic en una unidad para ver sus números, su mando y el enlace a su tendencia."
    ),
    "map_shapes_note": (
        "Geometría simplificada (unos 20 m). Sin mapa de fondo: las líneas grises son los "
        "límites de zona."
    ),
    "map_total": "Total: %(n)s incidentes",
    "emerging_new_hot_spot": "nuevo punto caliente",
    "emerging_consecutive_hot_spot": "punto caliente consecutivo",
    "emerging_intensifying_hot_spot": "punto caliente en intensificación",
    "emerging_persistent_hot_spot": "punto caliente persistente",
    "emerging_diminishing_hot_spot": "punto caliente en disminución",
    "emerging_sporadic_hot_spot": "punto caliente esporádico",
    "emerging_oscillating_hot_spot": "punto caliente oscilante",
    "emerging_historical_hot_spot": "punto caliente histórico",
    "emerging_new_cold_spot": "nuevo punto frío",
    "emerging_consecutive_cold_spot": "punto frío consecutivo",
    "emerging_intensifying_cold_spot": "punto frío en intensificación",
    "emerging_persistent_cold_spot": "punto frío persistente",
    "emerging_diminishing_cold_spot": "punto frío en disminución",
    "emerging_sporadic_cold_spot": "punto frío esporádico",
    "emerging_oscillating_cold_spot": "punto frío oscilante",
    "emerging_historical_cold_spot": "punto frío histórico",
    "emerging_no_pattern": "sin patrón",
    "methods_title": "¿Qué método de puntos calientes predice mejor?",
    "methods_intro": (
        "Resultado guardado de «compstat hotspots evaluate»: cada método señala el 5 %% del "
        "área con más delitos esperados, con lo ocurrido antes de cada ventana de prueba, y "
        "se mide cuántos delitos de la ventana captó."
    ),
    "methods_explain": (
        "PAI: cuántas veces más delitos captan las áreas señaladas que su parte del área (1 "
        "es el azar). PEI: qué tan cerca quedó del mejor resultado posible en la ventana (1 "
        "es el máximo). Tasa de acierto: parte de los delitos captados."
    ),
    "methods_unset": (
        "No hay una evaluación configurada. Genérela con «compstat hotspots evaluate "
        "--vintage 2023 --year 2023 --method all --format json -o evaluacion.json» (tarda "
        "minutos) y apunte COMPSTAT_HOTSPOT_EVALUATION a ese archivo."
    ),
    "methods_missing": (
        "El archivo de evaluación configurado (%(path)s) no existe. Genérelo con «compstat "
        "hotspots evaluate … --format json -o %(path)s»."
    ),
    "methods_unreadable": (
        "El archivo %(path)s no es una salida JSON de «compstat hotspots evaluate»."
    ),
    "methods_default": "Método por omisión: %(method)s",
    "methods_baseline": "línea base",
    "methods_beats": "Supera a la cuadrícula (línea base)",
    "methods_parameters": "Parámetros",
    "methods_basket": "Canasta",
    "methods_method": "Método",
    "methods_windows": "Ventanas",
    "methods_mean_pai": "PAI medio",
    "methods_median_pai": "PAI mediano",
    "methods_mean_pei": "PEI medio",
    "methods_mean_rri": "RRI medio",
    "methods_hit_rate": "Tasa de acierto",
    "methods_chart": (
        "PAI de cada método en cada ventana de prueba (%(basket)s): la cuadrícula, línea "
        "base, en guiones; el método por omisión, en trazo grueso."
    ),
    "methods_chart_x": "Inicio de la ventana de prueba",
    "yes": "sí",
    "no": "no",
    "back_to_map": "Volver al mapa",
    "nav_research": "Investigación",
    "research_title": "Covariables y moderador de zonas de mayor delincuencia",
    "research_intro": (
        "Una fila por sector o cuadrante (solo agregados): conteos, tasas y la clase del "
        "moderador según un preajuste versionado. Cada descarga lleva su manifiesto "
        "(parámetros, cargas usadas y SHA-256)."
    ),
    "research_preset": "Preajuste",
    "research_level": "Nivel",
    "research_from": "Desde",
    "research_to": "Hasta",
    "research_units": (
        "Unidades del conjunto de comparación (claves separadas por espacios, comas o saltos "
        "de línea; vacío: todas)"
    ),
    "research_illustrative": "Usar la lista ILUSTRATIVA de 60 sectores (si no se listan unidades)",
    "research_illustrative_note": (
        "Lista ilustrativa: 60 sectores sorteados por zona (semilla 20161), no la del ensayo real."
    ),
    "research_error": "No se pudo calcular",
    "research_window": "Conteos del %(start)s al %(end)s",
    "research_moderator_window": "moderador del %(start)s al %(end)s",
    "research_summary": (
        "%(members)s unidades en el conjunto de comparación, %(higher)s de mayor "
        "delincuencia; %(total)s unidades en total."
    ),
    "research_download": "Descargar con manifiesto (zip)",
    "research_download_note": "cada zip trae ARCHIVO y ARCHIVO.manifest.json",
    "research_map_label": "Mapa del moderador: unidades por clase",
    "research_higher": "Mayor delincuencia",
    "research_lower": "Menor delincuencia",
    "research_outside": "Fuera del conjunto",
    "research_uncertain": "Incierta (cerca del corte)",
    "research_uncertain_short": "incierta",
    "research_uncertain_heading": "Unidades inciertas (%(n)s)",
    "research_uncertain_note": (
        "Probabilidad de la clase mayor entre %(low)s y %(high)s en %(draws)s remuestreos de "
        "Poisson (semilla 20161)."
    ),
    "research_table": "Tabla de covariables",
    "research_unit": "Clave",
    "research_name": "Nombre",
    "research_population": "Población",
    "research_count": "Delitos (%(group)s)",
    "research_rate": "Tasa por 100 mil (%(group)s)",
    "research_moderator_value": "Valor del moderador (%(measure)s)",
    "research_class": "Clase",
    "research_probability": "Prob. clase mayor",
    "research_api_note": "Las mismas filas, en JSON, por la API:",
}


def choose_language(requested: str | None) -> str:
    """Return ``requested`` if it is a supported language, else the default (Spanish)."""
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def catalog_paths(language: str) -> tuple[Path, Path]:
    """Return the ``.po`` source and the compiled ``.mo`` of a language's catalog."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def compile_catalogs() -> list[Path]:
    """Compile every ``.po`` catalog whose ``.mo`` is missing or older; return those written."""
    written = []
    for language in LANGUAGES:
        po, mo = catalog_paths(language)
        if not po.exists() or (mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime):
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=language)
        try:
            with mo.open("wb") as target:
                write_mo(target, catalog)
        except OSError:  # a read-only install: the build compiled it, or Spanish shows
            continue
        written.append(mo)
    return written

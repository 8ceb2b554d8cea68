#ifndef SLUICE_CFFMPEG_SHIM_H
#define SLUICE_CFFMPEG_SHIM_H

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

// Function-like macros do not import into Swift; these wrap the ones Sluice needs.
static inline int sluice_averror_eof(void) { return AVERROR_EOF; }
static inline int sluice_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int sluice_averror_invalid(void) { return AVERROR(EINVAL); }
static inline int64_t sluice_av_nopts_value(void) { return AV_NOPTS_VALUE; }

#endif
